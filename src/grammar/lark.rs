//! llguidance's Lark dialect. Formatting tokens are special tokens
//! (`<|channel|>`), literal text is a JSON-quoted string, a tool's
//! arguments are `%json{…}` with its schema, and free text is a regex that
//! cannot match a special token (llguidance matches those only where the
//! grammar names them).

use super::{Spec, Tool};
use crate::error::{HarmonyError, Result};

/// A Lark string literal (Lark reads JSON string escapes).
fn lit(text: &str) -> Result<String> {
    Ok(serde_json::to_string(text)?)
}

/// `<|channel|>NAME` when channels are declared; nothing otherwise.
fn channel(spec: &Spec, name: &str) -> Result<String> {
    Ok(if spec.channels.is_empty() { String::new() } else { format!("<|channel|> {} ", lit(name)?) })
}

fn call_rule(spec: &Spec, tool: &Tool, out: &mut Vec<String>, index: usize) -> Result<String> {
    let to = lit(&format!(" to={}", tool.recipient))?;
    let args = match &tool.schema {
        Some(schema) => format!("%json {}", serde_json::to_string(schema)?),
        None => "TEXT".to_string(),
    };
    let mut headers = Vec::new();
    for ch in tool.channels.iter().filter(|c| spec.channels.is_empty() || spec.has(c)) {
        // The recipient before the channel, as the renderer writes it, or
        // after it, as gpt-oss often does.
        headers.push(format!("{to} {}", channel(spec, ch)?));
        if !spec.channels.is_empty() {
            headers.push(format!("{}{to}", channel(spec, ch)?));
        }
    }
    let name = format!("call_{index}");
    out.push(format!("{name}_header: {}", headers.join(" | ")));
    out.push(format!("{name}: {name}_header content_type <|message|> {args} <|call|>"));
    Ok(name)
}

pub(super) fn write(spec: &Spec) -> Result<String> {
    let mut rules: Vec<String> = Vec::new();
    let mut before: Vec<&str> = Vec::new();
    let mut last: Vec<String> = Vec::new();
    if spec.has("analysis") {
        rules.push(format!("analysis: {}<|message|> TEXT <|end|>", channel(spec, "analysis")?));
        before.push("analysis");
    }
    if spec.has("commentary") {
        rules.push(format!("preamble: {}<|message|> TEXT <|end|>", channel(spec, "commentary")?));
        before.push("preamble");
    }
    if spec.allow_final {
        let body = if spec.answer_schemas.is_empty() {
            "TEXT".to_string()
        } else {
            let alts: Result<Vec<String>> =
                spec.answer_schemas.iter().map(|s| Ok(format!("%json {}", serde_json::to_string(s)?))).collect();
            format!("({})", alts?.join(" | "))
        };
        let ch = if spec.has("final") || spec.channels.is_empty() { channel(spec, "final")? } else { String::new() };
        rules.push(format!("final: {ch}<|message|> {body} <|return|>"));
        last.push("final".to_string());
    }
    for (i, tool) in spec.tools.iter().enumerate() {
        last.push(call_rule(spec, tool, &mut rules, i)?);
    }
    let mut grammar = String::new();
    let head = if before.is_empty() {
        "start: last".to_string()
    } else {
        format!("start: (({}) <|start|> \"assistant\")* last", before.join(" | "))
    };
    grammar.push_str(&head);
    grammar.push('\n');
    if last.is_empty() {
        return Err(HarmonyError::InvalidArgument("nothing may end the turn: no final answer and no tool".into()));
    }
    grammar.push_str(&format!("last: {}\n", last.join(" | ")));
    grammar.push_str("content_type: (\" \" <|constrain|> \"json\" | \" json\")?\n");
    for r in rules {
        grammar.push_str(&r);
        grammar.push('\n');
    }
    grammar.push_str("TEXT: /(.|\\n)*/\n");
    Ok(grammar)
}
