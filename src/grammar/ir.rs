//! The completion grammar as a small syntax tree, built once from the
//! [`Spec`] and written out by each syntax (`lark.rs`, `gbnf.rs`,
//! `xgrammar.rs`), so that the three agree on what a completion may be.

use super::{Spec, Tool};
use crate::error::{HarmonyError, Result};

/// One piece of the grammar.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// A formatting token, matched as that special token (`<|channel|>`).
    Token(&'static str),
    /// Literal text (`"analysis"`, `" to=functions.get_weather"`).
    Lit(String),
    /// Free text: any text without formatting tokens.
    Text,
    /// JSON valid against this schema.
    Json(serde_json::Value),
    /// A stop token that ends the completion (`<|return|>`, `<|call|>`):
    /// spelled where the engine lets the grammar consume it, left to the
    /// engine's stop condition where it does not (llama.cpp's GBNF).
    Stop(&'static str),
    Seq(Vec<Node>),
    Alt(Vec<Node>),
    Star(Box<Node>),
    Opt(Box<Node>),
    /// A named rule, for the syntaxes that have rules; the name is unique
    /// and dashed (`call-0`), as GBNF wants it.
    Rule(String, Box<Node>),
}

fn lit(s: &str) -> Node {
    Node::Lit(s.to_string())
}

/// `<|channel|>NAME` when the system message declares channels; nothing
/// otherwise.
fn channel(spec: &Spec, name: &str) -> Vec<Node> {
    if spec.channels.is_empty() {
        Vec::new()
    } else {
        vec![Node::Token("<|channel|>"), lit(name)]
    }
}

fn message(spec: &Spec, name: &'static str, channel_name: &str, end: Node) -> Node {
    let mut seq = channel(spec, channel_name);
    seq.extend([Node::Token("<|message|>"), Node::Text, end]);
    Node::Rule(name.to_string(), Box::new(Node::Seq(seq)))
}

/// The content type between the header and `<|message|>`: ` <|constrain|>json`,
/// ` json`, nothing, and for the built-in tools ` code`, as gpt-oss writes them.
fn content_type(builtin: bool) -> Node {
    let mut alts = vec![Node::Seq(vec![lit(" "), Node::Token("<|constrain|>"), lit("json")]), lit(" json")];
    if builtin {
        alts.push(lit(" code"));
    }
    Node::Opt(Box::new(Node::Alt(alts)))
}

fn call(spec: &Spec, tool: &Tool, index: usize) -> Node {
    let to = lit(&format!(" to={}", tool.recipient));
    let mut headers = Vec::new();
    for ch in tool.channels.iter().filter(|c| spec.channels.is_empty() || spec.has(c)) {
        // The recipient before the channel, as the renderer writes it, or
        // after it, as gpt-oss often does.
        let mut before = vec![to.clone()];
        before.extend(channel(spec, ch));
        headers.push(Node::Seq(before));
        if !spec.channels.is_empty() {
            let mut after = channel(spec, ch);
            after.push(to.clone());
            headers.push(Node::Seq(after));
        }
    }
    let args = match &tool.schema {
        Some(schema) => Node::Json(schema.clone()),
        None => Node::Text,
    };
    let header = Node::Rule(format!("call-{index}-header"), Box::new(Node::Alt(headers)));
    Node::Rule(
        format!("call-{index}"),
        Box::new(Node::Seq(vec![
            header,
            content_type(tool.builtin),
            Node::Token("<|message|>"),
            args,
            Node::Stop("<|call|>"),
        ])),
    )
}

/// The whole completion, from right after the prompt's `<|start|>assistant`.
pub(crate) fn completion(spec: &Spec) -> Result<Node> {
    let mut before = Vec::new();
    if spec.has("analysis") {
        before.push(message(spec, "analysis", "analysis", Node::Token("<|end|>")));
    }
    if spec.has("commentary") {
        before.push(message(spec, "preamble", "commentary", Node::Token("<|end|>")));
    }
    let mut last = Vec::new();
    if spec.allow_final {
        // Without declared channels the answer has no channel; with them it
        // goes to `final` when that channel is declared, or to none.
        let mut seq = if spec.has("final") || spec.channels.is_empty() { channel(spec, "final") } else { Vec::new() };
        if !spec.answer_schemas.is_empty() {
            // A structured answer may say it is JSON, as gpt-oss does.
            seq.push(content_type(false));
        }
        seq.push(Node::Token("<|message|>"));
        match spec.answer_schemas.as_slice() {
            [] => seq.push(Node::Text),
            [one] => seq.push(Node::Json(one.clone())),
            many => seq.push(Node::Alt(many.iter().cloned().map(Node::Json).collect())),
        }
        seq.push(Node::Stop("<|return|>"));
        last.push(Node::Rule("final".into(), Box::new(Node::Seq(seq))));
    }
    for (i, tool) in spec.tools.iter().enumerate() {
        last.push(call(spec, tool, i));
    }
    if last.is_empty() {
        return Err(HarmonyError::InvalidArgument("nothing may end the turn: no final answer and no tool".into()));
    }
    let last = Node::Rule("last".into(), Box::new(Node::Alt(last)));
    Ok(if before.is_empty() {
        last
    } else {
        let next = Node::Seq(vec![Node::Alt(before), Node::Token("<|start|>"), lit("assistant")]);
        Node::Seq(vec![Node::Star(Box::new(next)), last])
    })
}
