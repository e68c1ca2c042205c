//! llguidance's Lark dialect. Formatting tokens are special tokens
//! (`<|channel|>`), literal text is a JSON-quoted string, JSON is
//! `%json {schema}`, and free text is a regex, which llguidance never lets a
//! special token match (it matches those only where the grammar names them).
//! The stop tokens are spelled: llguidance consumes them as grammar tokens
//! and the engine then stops on them.

use super::ir::Node;
use crate::error::Result;

struct Writer {
    rules: Vec<String>,
    text: bool,
}

impl Writer {
    fn expr(&mut self, node: &Node) -> Result<String> {
        Ok(match node {
            Node::Token(t) | Node::Stop(t) => (*t).to_string(),
            Node::Lit(s) => lark_json(&serde_json::to_string(s)?),
            Node::Text => {
                self.text = true;
                "TEXT".to_string()
            }
            Node::Json(schema) => format!("%json {}", lark_json(&serde_json::to_string(schema)?)),
            Node::Seq(items) if items.is_empty() => "\"\"".to_string(),
            Node::Seq(items) => {
                let parts: Result<Vec<String>> = items.iter().map(|n| self.expr(n)).collect();
                parts?.join(" ")
            }
            Node::Alt(items) => {
                let parts: Result<Vec<String>> = items.iter().map(|n| self.expr(n)).collect();
                format!("({})", parts?.join(" | "))
            }
            Node::Star(inner) => format!("({})*", self.expr(inner)?),
            Node::Opt(inner) => format!("({})?", self.expr(inner)?),
            Node::Rule(name, body) => {
                let body = self.expr(body)?;
                self.rules.push(format!("{name}: {body}"));
                name.clone()
            }
        })
    }
}

/// JSON text as llguidance's Lark lexer takes it: serde_json writes DEL,
/// the C1 controls and the line separators raw, which JSON allows in a
/// string but the lexer refuses (`a\x7fb` in a tool name), so they are
/// written as `\u` escapes. They can only occur inside JSON strings, so the
/// value is unchanged.
fn lark_json(json: &str) -> String {
    let raw = |c: char| matches!(c, '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}');
    if !json.contains(raw) {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if raw(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

pub(super) fn write(root: &Node) -> Result<String> {
    let mut w = Writer { rules: Vec::new(), text: false };
    let start = w.expr(root)?;
    let mut out = String::from("%llguidance {}\n");
    out.push_str(&format!("start: {start}\n"));
    for rule in w.rules.iter().rev() {
        out.push_str(rule);
        out.push('\n');
    }
    if w.text {
        out.push_str("TEXT: /(.|\\n)*/\n");
    }
    Ok(out)
}
