//! JSON Schema to GBNF rules, for tool arguments and response formats.
//!
//! What is enforced: `type` (one or a list), `properties` in the schema's
//! order with `required`, `additionalProperties` (absent or `false`: no
//! other keys, as llama.cpp's own converter reads it; `true` or a schema:
//! other keys after the declared ones), `items`, `minItems`/`maxItems`,
//! `enum`, `const`, `anyOf`/`oneOf` (as alternatives), `allOf` (merged),
//! `$ref` into the schema (`#/$defs/…`, `#/definitions/…`, recursion
//! included), `nullable`, `minLength`/`maxLength`, and a non-negative
//! `minimum` on integers. What is not: `pattern`, `format` and numeric
//! bounds beyond that (any string or number of the type), and the
//! exclusivity of `oneOf`.
//!
//! JSON strings never contain `<|`, raw or as the start of a formatting
//! token: llama.cpp matches a token by its text, so a string that allowed
//! `<|` would let `<|call|>` be taken as string content.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::error::{HarmonyError, Result};

/// The shared rules every JSON value uses.
pub(super) const BASE_RULES: &str = r#"ws ::= [ \t\n\r]{0,32}
json-esc ::= "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})
json-char ::= [^"\\<\x00-\x1F\x7F] | json-esc | "<"+ ([^"\\<|\x00-\x1F\x7F] | json-esc)
json-string ::= "\"" json-char* "<"* "\""
json-int ::= "-"? ([0-9] | [1-9] [0-9]{1,15})
json-number ::= json-int ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?
json-value ::= json-object | json-array | json-string | json-number | "true" | "false" | "null"
json-object ::= "{" ws (json-string ":" ws json-value ("," ws json-string ":" ws json-value)* ws)? "}"
json-array ::= "[" ws (json-value ("," ws json-value)* ws)? "]"
"#;

/// Nesting of schemas (not of values) past which conversion stops.
const MAX_DEPTH: usize = 64;

pub(super) struct Converter<'a> {
    root: &'a Value,
    prefix: String,
    count: usize,
    refs: HashMap<String, String>,
    pub(super) rules: Vec<String>,
}

/// A GBNF string literal of `text`.
pub(super) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7F => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A GBNF literal of a JSON value's compact text.
fn json_literal(value: &Value) -> Result<String> {
    Ok(quote(&serde_json::to_string(value)?))
}

fn unsupported(what: String) -> HarmonyError {
    HarmonyError::InvalidArgument(format!("JSON Schema for GBNF: {what}"))
}

impl<'a> Converter<'a> {
    pub(super) fn new(root: &'a Value, prefix: String) -> Self {
        Converter { root, prefix, count: 0, refs: HashMap::new(), rules: Vec::new() }
    }

    fn name(&mut self) -> String {
        self.count += 1;
        format!("{}-{}", self.prefix, self.count)
    }

    fn rule(&mut self, body: String) -> String {
        let name = self.name();
        self.rules.push(format!("{name} ::= {body}"));
        name
    }

    /// The rule, named after the prefix, for values of `schema`.
    pub(super) fn convert(&mut self, schema: &Value) -> Result<String> {
        let body = self.visit(schema, 0)?;
        self.rules.push(format!("{} ::= {body}", self.prefix));
        Ok(self.prefix.clone())
    }

    fn visit(&mut self, schema: &Value, depth: usize) -> Result<String> {
        if depth > MAX_DEPTH {
            return Err(unsupported(format!("schemas nested deeper than {MAX_DEPTH}")));
        }
        let obj = match schema {
            Value::Bool(true) => return Ok("json-value".into()),
            Value::Bool(false) => return Err(unsupported("the schema `false` admits no value".into())),
            Value::Object(obj) => obj,
            other => return Err(unsupported(format!("a schema must be an object or a boolean, got {other}"))),
        };
        if let Some(r) = obj.get("$ref") {
            return self.reference(r, depth);
        }
        if let Some(c) = obj.get("const") {
            return json_literal(c);
        }
        if let Some(e) = obj.get("enum") {
            let items = e.as_array().ok_or_else(|| unsupported("`enum` must be an array".into()))?;
            if items.is_empty() {
                return Err(unsupported("an empty `enum` admits no value".into()));
            }
            let alts: Result<Vec<String>> = items.iter().map(json_literal).collect();
            return Ok(self.rule(alts?.join(" | ")));
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(list) = obj.get(key) {
                let items = list.as_array().ok_or_else(|| unsupported(format!("`{key}` must be an array")))?;
                if items.is_empty() {
                    return Err(unsupported(format!("an empty `{key}` admits no value")));
                }
                let mut alts = Vec::new();
                for item in items {
                    alts.push(self.visit(item, depth + 1)?);
                }
                return Ok(self.rule(alts.join(" | ")));
            }
        }
        if let Some(list) = obj.get("allOf") {
            let merged = self.merge_all_of(obj, list)?;
            return self.visit(&Value::Object(merged), depth + 1);
        }
        let nullable = obj.get("nullable").and_then(Value::as_bool).unwrap_or(false);
        let types: Vec<&str> = match obj.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            Some(other) => return Err(unsupported(format!("`type` must be a string or a list, got {other}"))),
            None if obj.contains_key("properties") => vec!["object"],
            None if obj.contains_key("items") => vec!["array"],
            None => return Ok("json-value".into()),
        };
        let mut alts = Vec::new();
        for t in types {
            alts.push(self.typed(t, obj, depth)?);
        }
        if nullable {
            alts.push("\"null\"".into());
        }
        Ok(if alts.len() == 1 { alts.remove(0) } else { self.rule(alts.join(" | ")) })
    }

    fn reference(&mut self, r: &Value, depth: usize) -> Result<String> {
        let r = r.as_str().ok_or_else(|| unsupported("`$ref` must be a string".into()))?;
        if let Some(name) = self.refs.get(r) {
            return Ok(name.clone());
        }
        let target = r
            .strip_prefix('#')
            .and_then(|pointer| self.root.pointer(pointer))
            .ok_or_else(|| unsupported(format!("`$ref` {r:?} does not point into the schema")))?;
        // Named before its body is converted, so that a recursive schema
        // refers to this rule.
        let name = self.name();
        self.refs.insert(r.to_string(), name.clone());
        let body = self.visit(target, depth + 1)?;
        self.rules.push(format!("{name} ::= {body}"));
        Ok(name)
    }

    fn merge_all_of(&self, obj: &Map<String, Value>, list: &Value) -> Result<Map<String, Value>> {
        let items = list.as_array().ok_or_else(|| unsupported("`allOf` must be an array".into()))?;
        let mut merged: Map<String, Value> =
            obj.iter().filter(|(k, _)| *k != "allOf").map(|(k, v)| (k.clone(), v.clone())).collect();
        // The required names so far, so that each part's list merges in time
        // linear in its length (names only: anything else in `required` is
        // ignored when the object is written).
        let mut required: HashSet<String> = match merged.get("required") {
            Some(Value::Array(req)) => req.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => HashSet::new(),
        };
        for item in items {
            let mut item = item;
            // Follow references, so that `allOf: [{"$ref": …}, {…}]` merges.
            let mut hops = 0;
            while let Some(r) = item.get("$ref").and_then(Value::as_str) {
                hops += 1;
                item =
                    r.strip_prefix('#').and_then(|p| self.root.pointer(p)).filter(|_| hops < MAX_DEPTH).ok_or_else(
                        || unsupported(format!("`$ref` {r:?} in `allOf` does not point into the schema")),
                    )?;
            }
            let Value::Object(part) = item else {
                return Err(unsupported("each `allOf` entry must be an object schema".into()));
            };
            for (key, value) in part {
                match (key.as_str(), merged.get_mut(key)) {
                    ("properties", Some(Value::Object(props))) => {
                        if let Value::Object(more) = value {
                            props.extend(more.iter().map(|(k, v)| (k.clone(), v.clone())));
                        }
                    }
                    ("required", Some(Value::Array(req))) => {
                        if let Value::Array(more) = value {
                            for name in more.iter().filter_map(Value::as_str) {
                                if required.insert(name.to_string()) {
                                    req.push(Value::String(name.to_string()));
                                }
                            }
                        }
                    }
                    ("required", None) => {
                        if let Value::Array(more) = value {
                            let names =
                                more.iter().filter_map(Value::as_str).filter(|n| required.insert(n.to_string()));
                            let list = names.map(|n| Value::String(n.to_string())).collect();
                            merged.insert(key.clone(), Value::Array(list));
                        }
                    }
                    (_, Some(_)) => {}
                    (_, None) => {
                        merged.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        Ok(merged)
    }

    fn typed(&mut self, t: &str, obj: &Map<String, Value>, depth: usize) -> Result<String> {
        let uint = |k: &str| obj.get(k).and_then(Value::as_u64);
        Ok(match t {
            "string" => match (uint("minLength"), uint("maxLength")) {
                (None, None) => "json-string".into(),
                (min, max) => {
                    let min = min.unwrap_or(0);
                    let max = max.map(|m| m.to_string()).unwrap_or_default();
                    self.rule(format!("\"\\\"\" json-char{{{min},{max}}} \"<\"? \"\\\"\""))
                }
            },
            "integer" => {
                let non_negative = obj.get("minimum").and_then(Value::as_f64).is_some_and(|m| m >= 0.0);
                if non_negative {
                    "([0-9] | [1-9] [0-9]{1,15})".into()
                } else {
                    "json-int".into()
                }
            }
            "number" => "json-number".into(),
            "boolean" => "(\"true\" | \"false\")".into(),
            "null" => "\"null\"".into(),
            "array" => self.array(obj, depth)?,
            "object" => self.object(obj, depth)?,
            other => return Err(unsupported(format!("unknown type {other:?}"))),
        })
    }

    fn array(&mut self, obj: &Map<String, Value>, depth: usize) -> Result<String> {
        let item = match obj.get("items") {
            None => "json-value".to_string(),
            Some(items) => self.visit(items, depth + 1)?,
        };
        let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(0);
        let max = obj.get("maxItems").and_then(Value::as_u64);
        if max == Some(0) {
            return Ok(self.rule("\"[\" ws \"]\"".into()));
        }
        let more = match (min, max) {
            (0 | 1, None) => format!("(\",\" ws {item})*"),
            (min, max) => {
                let max = max.map(|m| (m - 1).to_string()).unwrap_or_default();
                format!("(\",\" ws {item}){{{},{max}}}", min.saturating_sub(1))
            }
        };
        let items = format!("{item} {more} ws");
        Ok(self.rule(if min == 0 { format!("\"[\" ws ({items})? \"]\"") } else { format!("\"[\" ws {items} \"]\"") }))
    }

    fn object(&mut self, obj: &Map<String, Value>, depth: usize) -> Result<String> {
        let empty = Map::new();
        let props = match obj.get("properties") {
            Some(Value::Object(p)) => p,
            Some(_) => return Err(unsupported("`properties` must be an object".into())),
            None => &empty,
        };
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let required_set: HashSet<&str> = required.iter().copied().collect();
        for name in &required {
            if !props.contains_key(*name) && obj.get("additionalProperties") == Some(&Value::Bool(false)) {
                return Err(unsupported(format!("required property {name:?} is not declared and no other may be")));
            }
        }
        // Other keys: absent or false means none when properties are
        // declared; with no properties, any object.
        let extra = match obj.get("additionalProperties") {
            None if props.is_empty() => Some("json-value".to_string()),
            None | Some(Value::Bool(false)) => None,
            Some(Value::Bool(true)) => Some("json-value".to_string()),
            Some(schema) => Some(self.visit(schema, depth + 1)?),
        };
        let extra_kv = extra.map(|v| format!("json-string \":\" ws {v}"));
        if props.is_empty() {
            return Ok(match extra_kv {
                Some(kv) if kv == "json-string \":\" ws json-value" => "json-object".into(),
                Some(kv) => self.rule(format!("\"{{\" ws ({kv} (\",\" ws {kv})* ws)? \"}}\"")),
                None => self.rule("\"{\" ws \"}\"".into()),
            });
        }
        let mut kvs = Vec::new();
        for (key, schema) in props {
            let value = self.visit(schema, depth + 1)?;
            kvs.push(format!("{} \":\" ws {value}", quote(&serde_json::to_string(key)?)));
        }
        let n = kvs.len();
        let is_required: Vec<bool> = props.keys().map(|k| required_set.contains(k.as_str())).collect();
        // rest[i]: the declared properties from i on, each after a comma,
        // the required ones mandatory, in order; then any other keys.
        let mut rest: Vec<Option<String>> = vec![None; n + 1];
        rest[n] = extra_kv.as_ref().map(|kv| self.rule(format!("(\",\" ws {kv})*")));
        for i in (1..n).rev() {
            let item = format!("\",\" ws {}", kvs[i]);
            let item = if is_required[i] { item } else { format!("({item})?") };
            let body = match &rest[i + 1] {
                Some(next) => format!("{item} {next}"),
                None => item,
            };
            rest[i] = Some(self.rule(body));
        }
        // The first key written: any declared one up to the first required.
        let mut first = Vec::new();
        for i in 0..n {
            first.push(match &rest[i + 1] {
                Some(next) => format!("{} {next}", kvs[i]),
                None => kvs[i].clone(),
            });
            if is_required[i] {
                break;
            }
        }
        let any_required = is_required.iter().any(|r| *r);
        if !any_required {
            if let Some(kv) = &extra_kv {
                first.push(format!("{kv} (\",\" ws {kv})*"));
            }
        }
        let members = first.join(" | ");
        Ok(self.rule(if any_required {
            format!("\"{{\" ws ({members}) ws \"}}\"")
        } else {
            format!("\"{{\" ws (({members}) ws)? \"}}\"")
        }))
    }
}
