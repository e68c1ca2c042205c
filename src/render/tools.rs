//! A tool namespace as text: `## name`, its description, then
//! `namespace name { type tool = (_: ...) => any; ... }`.

use std::collections::BTreeMap;

use crate::chat::ToolNamespaceConfig;

use super::typescript::schema_to_typescript;

/// All namespaces of a tools map, in name order, separated by blank lines.
pub(crate) fn namespaces_text(tools: &BTreeMap<String, ToolNamespaceConfig>) -> String {
    tools.values().map(namespace_text).collect::<Vec<_>>().join("\n\n")
}

/// One namespace. A description is commented out when the namespace has
/// tools, and written as plain text when it has none (as for `python`).
pub(crate) fn namespace_text(ns: &ToolNamespaceConfig) -> String {
    let mut lines = vec![format!("## {}\n", ns.name)];
    if let Some(desc) = &ns.description {
        for line in desc.lines() {
            if ns.tools.is_empty() {
                lines.push(line.to_string());
            } else {
                lines.push(format!("// {line}"));
            }
        }
    }
    if !ns.tools.is_empty() {
        lines.push(format!("namespace {} {{\n", ns.name));
        for tool in &ns.tools {
            for line in tool.description.lines() {
                lines.push(format!("// {line}"));
            }
            match tool.parameters.as_ref().filter(|p| !p.is_null()) {
                Some(params) => {
                    lines.push(format!("type {} = (_: {}) => any;\n", tool.name, schema_to_typescript(params, "")))
                }
                None => lines.push(format!("type {} = () => any;\n", tool.name)),
            }
        }
        lines.push(format!("}} // namespace {}", ns.name));
    }
    lines.join("\n")
}
