//! Grammars for constrained decoding: what may follow a rendered prompt.
//!
//! [`HarmonyEncoding::completion_grammar`] reads the conversation (the
//! channels the system message declares, the tools the system and developer
//! messages declare, the developer's response format) and writes a grammar
//! that an engine's sampler can enforce token by token, so that gpt-oss stays
//! inside the harmony format and calls only declared tools with arguments
//! valid against their schemas.
//!
//! The completion starts right after the prompt's `<|start|>assistant`:
//! optional `analysis` messages and `commentary` preambles (each followed by
//! `<|start|>assistant`), then a final answer ending with `<|return|>` or a
//! tool call ending with `<|call|>`.
//!
//! The conversation is read once into a `Spec` (channels, tools, answer
//! schemas), the `Spec` into a small grammar tree (`ir.rs`), and the tree
//! is written in the syntax asked for: [`GrammarSyntax::Lark`]
//! (llguidance), [`GrammarSyntax::Gbnf`] (llama.cpp) or
//! [`GrammarSyntax::Xgrammar`] (a structural tag). Lark and xgrammar spell
//! the stop tokens `<|return|>` and `<|call|>`; GBNF leaves them to
//! llama.cpp, which allows end-of-generation tokens only where the grammar
//! is complete.

mod gbnf;
mod gbnf_json;
mod ir;
mod lark;
mod xgrammar;

use crate::chat::{Content, DeveloperContent, SystemContent};
use crate::chat::{Conversation, Message, Role};
use crate::encoding::HarmonyEncoding;
use crate::error::{HarmonyError, Result};

/// The grammar language to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrammarSyntax {
    /// llguidance's Lark dialect (vLLM's guidance backend, llama.cpp built
    /// with llguidance, SGLang's llguidance backend).
    Lark,
    /// llama.cpp's GBNF.
    Gbnf,
    /// An xgrammar structural tag, as JSON (vLLM, SGLang).
    Xgrammar,
}

impl std::str::FromStr for GrammarSyntax {
    type Err = HarmonyError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "lark" => Ok(GrammarSyntax::Lark),
            "gbnf" => Ok(GrammarSyntax::Gbnf),
            "xgrammar" => Ok(GrammarSyntax::Xgrammar),
            other => Err(HarmonyError::InvalidArgument(format!(
                "syntax must be \"lark\", \"gbnf\" or \"xgrammar\", got {other:?}"
            ))),
        }
    }
}

/// Which tool calls the completion may make, as in OpenAI's `tool_choice`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ToolChoice {
    /// A final answer or a call to any declared tool.
    #[default]
    Auto,
    /// A call to some declared tool; no final answer.
    Required,
    /// No tool call: a final answer.
    None,
    /// A call to this tool only (its recipient, e.g. `functions.get_weather`,
    /// or its bare name for the `functions` namespace).
    Named(String),
}

impl std::str::FromStr for ToolChoice {
    type Err = HarmonyError;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "auto" => ToolChoice::Auto,
            "required" => ToolChoice::Required,
            "none" => ToolChoice::None,
            name => ToolChoice::Named(name.to_string()),
        })
    }
}

/// A tool the completion may call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tool {
    /// What follows `to=`: `functions.get_weather`, `browser.search`, `python`.
    pub(crate) recipient: String,
    /// The arguments' JSON Schema; `None` for free text (the `python` tool).
    pub(crate) schema: Option<serde_json::Value>,
    /// The channels the call may go to.
    pub(crate) channels: Vec<&'static str>,
    /// A built-in tool of the system message (`browser`, `python`).
    pub(crate) builtin: bool,
}

/// Everything the grammar depends on, read off the conversation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spec {
    /// The declared channels; empty when the system message declares none.
    pub(crate) channels: Vec<String>,
    pub(crate) tools: Vec<Tool>,
    /// JSON Schemas the final answer must match (any of them); empty: text.
    pub(crate) answer_schemas: Vec<serde_json::Value>,
    pub(crate) allow_final: bool,
}

impl Spec {
    pub(crate) fn has(&self, channel: &str) -> bool {
        self.channels.iter().any(|c| c == channel)
    }
}

fn system_content(messages: &[Message]) -> Option<&SystemContent> {
    messages.iter().filter(|m| m.author.role == Role::System).find_map(|m| {
        m.content.iter().find_map(|c| match c {
            Content::SystemContent(s) => Some(s),
            _ => None,
        })
    })
}

fn developer_content(messages: &[Message]) -> Option<&DeveloperContent> {
    messages.iter().filter(|m| m.author.role == Role::Developer).find_map(|m| {
        m.content.iter().find_map(|c| match c {
            Content::DeveloperContent(d) => Some(d),
            _ => None,
        })
    })
}

fn read_spec(messages: &[Message], tool_choice: &ToolChoice) -> Result<Spec> {
    let system = system_content(messages);
    let channels = system.and_then(|s| s.channel_config.as_ref()).map(|c| c.valid_channels.clone()).unwrap_or_default();
    let mut tools = Vec::new();
    // Built-in tools (system message): browser and python, on the analysis
    // channel as gpt-oss calls them, or commentary.
    for ns in system.and_then(|s| s.tools.as_ref()).into_iter().flat_map(|t| t.values()) {
        let channels = vec!["analysis", "commentary"];
        if ns.tools.is_empty() {
            tools.push(Tool { recipient: ns.name.clone(), schema: None, channels, builtin: true });
        } else {
            for t in &ns.tools {
                let schema = t.parameters.clone().or_else(|| Some(serde_json::json!({"type": "object"})));
                tools.push(Tool {
                    recipient: format!("{}.{}", ns.name, t.name),
                    schema,
                    channels: channels.clone(),
                    builtin: true,
                });
            }
        }
    }
    // Function tools (developer message): commentary, as the system message
    // tells the model.
    let developer = developer_content(messages);
    for ns in developer.and_then(|d| d.tools.as_ref()).into_iter().flat_map(|t| t.values()) {
        for t in &ns.tools {
            let schema = t.parameters.clone().or_else(|| Some(serde_json::json!({"type": "object"})));
            tools.push(Tool {
                recipient: format!("{}.{}", ns.name, t.name),
                schema,
                channels: vec!["commentary"],
                builtin: false,
            });
        }
    }
    // A tool whose channels the system message does not declare cannot be
    // called (the renderer tells the model the channel to use).
    if !channels.is_empty() {
        tools.retain(|t| t.channels.iter().any(|c| channels.iter().any(|d| d == c)));
    }
    let answer_schemas =
        developer.map(|d| d.response_formats.iter().map(|f| f.schema.clone()).collect()).unwrap_or_default();
    let allow_final = match tool_choice {
        ToolChoice::Auto | ToolChoice::None => true,
        ToolChoice::Required | ToolChoice::Named(_) => false,
    };
    match tool_choice {
        ToolChoice::None => tools.clear(),
        ToolChoice::Named(name) => {
            let wanted = |t: &Tool| t.recipient == *name || t.recipient == format!("functions.{name}");
            tools.retain(wanted);
            if tools.is_empty() {
                return Err(HarmonyError::InvalidArgument(format!(
                    "tool_choice names {name:?}, which no system or developer message declares"
                )));
            }
        }
        ToolChoice::Required if tools.is_empty() => {
            return Err(HarmonyError::InvalidArgument(
                "tool_choice is \"required\" but no system or developer message declares a tool".into(),
            ));
        }
        _ => {}
    }
    Ok(Spec { channels, tools, answer_schemas, allow_final })
}

impl HarmonyEncoding {
    /// A grammar of the completions that may follow
    /// `render_conversation_for_completion(conversation, next_turn_role)`.
    /// Only `Role::Assistant` turns are constrained.
    pub fn completion_grammar(
        &self,
        conversation: &Conversation,
        next_turn_role: Role,
        syntax: GrammarSyntax,
        tool_choice: &ToolChoice,
    ) -> Result<String> {
        if next_turn_role != Role::Assistant {
            return Err(HarmonyError::InvalidArgument(format!(
                "a completion grammar is for assistant turns, got next_turn_role {}",
                next_turn_role.as_str()
            )));
        }
        let spec = read_spec(&conversation.messages, tool_choice)?;
        let root = ir::completion(&spec)?;
        match syntax {
            GrammarSyntax::Lark => lark::write(&root),
            GrammarSyntax::Gbnf => gbnf::write(&root),
            GrammarSyntax::Xgrammar => xgrammar::write(&root),
        }
    }
}
