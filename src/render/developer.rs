//! The text of a developer message.

use crate::chat::{DeveloperContent, ResponseFormat};

use super::json_text::json_text;
use super::tools::namespaces_text;

/// `# Instructions`, `# Tools` and `# Response Formats` sections, separated
/// by blank lines. Empty sections are left out.
pub(crate) fn developer_text(dev: &DeveloperContent) -> String {
    let mut sections: Vec<String> = Vec::new();
    if let Some(instructions) = &dev.instructions {
        sections.push("# Instructions".to_string());
        sections.push(instructions.clone());
    }
    if let Some(tools) = dev.tools.as_ref().filter(|t| !t.is_empty()) {
        sections.push("# Tools".to_string());
        sections.push(namespaces_text(tools));
    }
    if !dev.response_formats.is_empty() {
        sections.push("# Response Formats".to_string());
        sections.push(dev.response_formats.iter().map(response_format_text).collect::<Vec<_>>().join("\n\n"));
    }
    sections.join("\n\n")
}

/// `## name`, the description as `//` lines, then the schema as compact JSON,
/// as the format guide lays out structured output. Numbers are written as
/// in tool schemas ([`json_text`]: `1e16`, not `1e+16`).
fn response_format_text(format: &ResponseFormat) -> String {
    let mut out = format!("## {}\n\n", format.name);
    if let Some(desc) = &format.description {
        for line in desc.lines() {
            out.push_str(&format!("// {line}\n"));
        }
    }
    out.push_str(&json_text(&format.schema));
    out
}
