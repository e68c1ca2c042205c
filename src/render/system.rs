//! The text of a system message.

use crate::chat::SystemContent;

use super::tools::namespaces_text;

/// The sentence added to the channel line when a developer message defines
/// function tools.
const FUNCTIONS_CHANNEL_NOTE: &str = "Calls to these tools must go to the commentary channel: 'functions'.";

/// Identity and dates, reasoning effort, built-in tools and valid channels,
/// as sections separated by blank lines. Empty sections are left out.
pub(crate) fn system_text(sys: &SystemContent, has_function_tools: bool) -> String {
    let mut sections: Vec<String> = Vec::new();

    let mut top: Vec<String> = Vec::new();
    if let Some(identity) = &sys.model_identity {
        top.push(identity.clone());
    }
    if let Some(cutoff) = &sys.knowledge_cutoff {
        top.push(format!("Knowledge cutoff: {cutoff}"));
    }
    if let Some(date) = &sys.conversation_start_date {
        top.push(format!("Current date: {date}"));
    }
    if !top.is_empty() {
        sections.push(top.join("\n"));
    }

    if let Some(effort) = sys.reasoning_effort {
        sections.push(format!("Reasoning: {}", effort.as_str()));
    }

    if let Some(tools) = sys.tools.as_ref().filter(|t| !t.is_empty()) {
        sections.push(format!("# Tools\n\n{}", namespaces_text(tools)));
    }

    if let Some(channels) = &sys.channel_config {
        if !channels.valid_channels.is_empty() {
            let mut line = format!("# Valid channels: {}.", channels.valid_channels.join(", "));
            if channels.channel_required {
                line.push_str(" Channel must be included for every message.");
            }
            if has_function_tools {
                line.push('\n');
                line.push_str(FUNCTIONS_CHANNEL_NOTE);
            }
            sections.push(line);
        }
    }

    sections.join("\n\n")
}
