//! An xgrammar structural tag (the JSON that vLLM and SGLang take as
//! `structured_outputs.structural_tag` or `response_format` of type
//! `structural_tag`). Formatting tokens are `token` formats, literal text is
//! `const_string`, JSON is `json_schema`, and free text is `any_text` that
//! excludes `<|`, so that no formatting token passes for text whether or not
//! the engine's tokenizer info marks them special.
//!
//! The stop tokens are spelled as `token` formats: xgrammar consumes them as
//! grammar tokens, and the engine stops on them (they are gpt-oss's stop
//! tokens). A matcher that keeps going after them accepts only a stop token
//! next, unless it was made with `terminate_without_stop_token`.

use serde_json::{json, Value};

use super::ir::Node;
use crate::error::Result;

fn format(node: &Node) -> Option<Value> {
    Some(match node {
        Node::Token(t) | Node::Stop(t) => json!({"type": "token", "token": t}),
        Node::Lit(s) => json!({"type": "const_string", "value": s}),
        Node::Text => json!({"type": "any_text", "excludes": ["<|"]}),
        Node::Json(schema) => json!({"type": "json_schema", "json_schema": schema}),
        Node::Seq(items) => {
            let elements: Vec<Value> = items.iter().filter_map(format).collect();
            match elements.len() {
                0 => return None,
                1 => elements.into_iter().next()?,
                _ => json!({"type": "sequence", "elements": elements}),
            }
        }
        Node::Alt(items) => {
            let elements: Vec<Value> = items.iter().filter_map(format).collect();
            match elements.len() {
                0 => return None,
                1 => elements.into_iter().next()?,
                _ => json!({"type": "or", "elements": elements}),
            }
        }
        Node::Star(inner) => json!({"type": "star", "content": format(inner)?}),
        Node::Opt(inner) => json!({"type": "optional", "content": format(inner)?}),
        Node::Rule(_, body) => format(body)?,
    })
}

pub(super) fn write(root: &Node) -> Result<String> {
    let body = format(root).unwrap_or_else(|| json!({"type": "const_string", "value": ""}));
    Ok(serde_json::to_string(&json!({"type": "structural_tag", "format": body}))?)
}
