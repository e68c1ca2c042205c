//! llama.cpp's GBNF. Formatting tokens are written in llama.cpp's token
//! syntax (`<|channel|>`, matched as that token, llama.cpp b7350 and later),
//! literal text is a quoted string, JSON is converted from its schema by
//! `gbnf_json.rs`, and free text is text without `<|`.
//!
//! The stop tokens are not spelled: llama.cpp never lets a grammar consume
//! an end-of-generation token (`<|return|>` and `<|call|>` are EOG tokens in
//! gpt-oss's GGUF vocabulary); it allows them where the grammar is
//! complete, that is at the end of a final answer or of a tool call's
//! arguments.

use super::gbnf_json::{quote, Converter, BASE_RULES};
use super::ir::Node;
use crate::error::{HarmonyError, Result};

/// Free text: anything without `<|`, so that a formatting token (which
/// llama.cpp would otherwise match by its text) never passes for text.
const TEXT_RULE: &str = "text ::= ([^<] | \"<\"+ [^<|])* \"<\"*";

struct Writer {
    rules: Vec<String>,
    json_rules: Vec<String>,
    text: bool,
    json: bool,
    /// The rule name a JSON value takes its name from.
    scope: String,
    json_count: usize,
}

impl Writer {
    fn expr(&mut self, node: &Node) -> Result<Option<String>> {
        Ok(Some(match node {
            Node::Token(t) => (*t).to_string(),
            // Left to llama.cpp's end-of-generation handling.
            Node::Stop(_) => return Ok(None),
            // llama.cpp matches a sampled token by its text, so a literal
            // holding `<|` (a tool named `x<|end|>`) would let a formatting
            // token through as text: refused, not written.
            Node::Lit(s) if s.contains("<|") => {
                return Err(HarmonyError::InvalidArgument(format!(
                    "GBNF cannot hold the text {s:?}: llama.cpp would take a formatting token for its \"<|\""
                )))
            }
            Node::Lit(s) => quote(s),
            Node::Text => {
                self.text = true;
                "text".to_string()
            }
            Node::Json(schema) => {
                self.json = true;
                self.json_count += 1;
                let prefix = if self.json_count == 1 {
                    format!("{}-json", self.scope)
                } else {
                    format!("{}-json{}", self.scope, self.json_count)
                };
                let mut conv = Converter::new(schema, prefix);
                let name = conv.convert(schema)?;
                self.json_rules.extend(conv.rules);
                name
            }
            Node::Seq(items) => {
                let mut parts = Vec::new();
                for item in items {
                    parts.extend(self.expr(item)?);
                }
                if parts.is_empty() {
                    return Ok(None);
                }
                parts.join(" ")
            }
            Node::Alt(items) => {
                let mut parts = Vec::new();
                for item in items {
                    parts.push(self.expr(item)?.unwrap_or_else(|| "\"\"".to_string()));
                }
                format!("({})", parts.join(" | "))
            }
            Node::Star(inner) => match self.expr(inner)? {
                Some(e) => format!("({e})*"),
                None => return Ok(None),
            },
            Node::Opt(inner) => match self.expr(inner)? {
                Some(e) => format!("({e})?"),
                None => return Ok(None),
            },
            Node::Rule(name, body) => {
                // JSON rules are named after the innermost named rule.
                let outer = (std::mem::replace(&mut self.scope, name.clone()), std::mem::take(&mut self.json_count));
                let body = self.expr(body)?;
                (self.scope, self.json_count) = outer;
                self.rules.push(format!("{name} ::= {}", body.unwrap_or_else(|| "\"\"".to_string())));
                name.clone()
            }
        }))
    }
}

pub(super) fn write(root: &Node) -> Result<String> {
    let mut w = Writer {
        rules: Vec::new(),
        json_rules: Vec::new(),
        text: false,
        json: false,
        scope: "root".into(),
        json_count: 0,
    };
    let start = w.expr(root)?.unwrap_or_else(|| "\"\"".to_string());
    let mut out = format!("root ::= {start}\n");
    for rule in w.rules.iter().rev() {
        out.push_str(rule);
        out.push('\n');
    }
    if w.text {
        out.push_str(TEXT_RULE);
        out.push('\n');
    }
    for rule in &w.json_rules {
        out.push_str(rule);
        out.push('\n');
    }
    if w.json {
        out.push_str(BASE_RULES);
    }
    Ok(out)
}
