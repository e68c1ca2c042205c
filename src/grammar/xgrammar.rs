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

use super::ir::Node;
use crate::error::Result;

/// Writes `node` as a format object, or nothing (returning false) for an
/// empty sequence. Written straight into the output: building a JSON value
/// tree first would copy every schema.
fn format(node: &Node, out: &mut String) -> Result<bool> {
    match node {
        Node::Token(t) | Node::Stop(t) => {
            out.push_str(r#"{"type":"token","token":"#);
            out.push_str(&serde_json::to_string(t)?);
            out.push('}');
        }
        Node::Lit(s) => {
            out.push_str(r#"{"type":"const_string","value":"#);
            out.push_str(&serde_json::to_string(s)?);
            out.push('}');
        }
        Node::Text => out.push_str(r#"{"type":"any_text","excludes":["<|"]}"#),
        Node::Json(schema) => {
            out.push_str(r#"{"type":"json_schema","json_schema":"#);
            out.push_str(&serde_json::to_string(schema)?);
            out.push('}');
        }
        Node::Seq(items) => return list("sequence", items, out),
        Node::Alt(items) => return list("or", items, out),
        Node::Star(inner) => return wrap("star", inner, out),
        Node::Opt(inner) => return wrap("optional", inner, out),
        Node::Rule(_, body) => return format(body, out),
    }
    Ok(true)
}

fn list(kind: &str, items: &[Node], out: &mut String) -> Result<bool> {
    let mut parts = Vec::with_capacity(items.len());
    for item in items {
        let mut part = String::new();
        if format(item, &mut part)? {
            parts.push(part);
        }
    }
    match parts.len() {
        0 => return Ok(false),
        1 => out.push_str(&parts[0]),
        _ => {
            out.push_str(&format!(r#"{{"type":"{kind}","elements":["#));
            out.push_str(&parts.join(","));
            out.push_str("]}");
        }
    }
    Ok(true)
}

fn wrap(kind: &str, inner: &Node, out: &mut String) -> Result<bool> {
    let mut part = String::new();
    if !format(inner, &mut part)? {
        return Ok(false);
    }
    out.push_str(&format!(r#"{{"type":"{kind}","content":"#));
    out.push_str(&part);
    out.push('}');
    Ok(true)
}

pub(super) fn write(root: &Node) -> Result<String> {
    let mut body = String::new();
    if !format(root, &mut body)? {
        body.push_str(r#"{"type":"const_string","value":""}"#);
    }
    Ok(format!(r#"{{"type":"structural_tag","format":{body}}}"#))
}
