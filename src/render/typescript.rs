//! JSON Schema to the TypeScript-like types gpt-oss was trained on.
//!
//! The output format is fixed by what the model saw in training, quirks
//! included (for example, property descriptions are one `//` line even when
//! they contain newlines, and nested objects indent their properties by four
//! spaces but not their own opening brace). Do not "fix" the layout here: the
//! render vectors pin every byte.

use std::collections::HashSet;

use serde_json::Value;

use super::json_text::json_text;

/// Renders `schema` as a type. `indent` prefixes the lines of nested object
/// members.
pub(crate) fn schema_to_typescript(schema: &Value, indent: &str) -> String {
    if let Some(variants) = schema.get("oneOf").and_then(Value::as_array) {
        return one_of_inline(variants, indent);
    }
    match schema.get("type") {
        Some(Value::Array(types)) => {
            // Names in a type list are kept as written, JSON type or not.
            let names: Vec<&str> =
                types.iter().filter_map(Value::as_str).map(|t| if t == "integer" { "number" } else { t }).collect();
            if names.is_empty() {
                "any".to_string()
            } else {
                names.join(" | ")
            }
        }
        Some(Value::String(ty)) => match ty.as_str() {
            "object" => object_type(schema, indent),
            "array" => match schema.get("items") {
                Some(items) => format!("{}[]", schema_to_typescript(items, indent)),
                None => "Array<any>".to_string(),
            },
            "string" => string_type(schema),
            other => primitive_name(other).to_string(),
        },
        _ => "any".to_string(),
    }
}

/// A single `type` name other than `object`, `array` and `string`. `null`
/// is not a type of its own here: it renders as `any`.
fn primitive_name(ty: &str) -> &str {
    match ty {
        "integer" | "number" => "number",
        "boolean" => "boolean",
        _ => "any",
    }
}

fn string_type(schema: &Value) -> String {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let quoted: Vec<String> = values.iter().filter_map(Value::as_str).map(|s| format!("\"{s}\"")).collect();
        if !quoted.is_empty() {
            return quoted.join(" | ");
        }
    }
    "string".to_string()
}

fn is_nullable(schema: &Value) -> bool {
    schema.get("nullable").and_then(Value::as_bool).unwrap_or(false)
}

fn is_enum(schema: &Value) -> bool {
    schema.get("enum").and_then(Value::as_array).is_some_and(|a| !a.is_empty())
}

/// `default: ...` as shown in comments: strings quoted unless the schema is
/// an enum, everything else as JSON.
fn default_comment(schema: &Value) -> Option<String> {
    let default = schema.get("default")?;
    Some(match default {
        Value::String(s) if is_enum(schema) => format!("default: {s}"),
        Value::String(s) => format!("default: \"{s}\""),
        other => format!("default: {}", json_text(other)),
    })
}

/// A type followed by `| null` when the schema says `nullable`.
fn with_null(schema: &Value, ty: String) -> String {
    if is_nullable(schema) && !ty.contains("null") {
        format!("{ty} | null")
    } else {
        ty
    }
}

/// The trailing `// description default: ...` of a oneOf variant. Variants
/// of a oneOf property show defaults as properties do; variants of an inline
/// oneOf (`items`, nested oneOf) quote a string default, as JSON (escaped)
/// when the variant is an enum and as written otherwise.
fn variant_comment(variant: &Value, show_description: bool, inline: bool) -> String {
    let mut parts = Vec::new();
    if show_description {
        if let Some(desc) = variant.get("description").and_then(Value::as_str) {
            parts.push(desc.to_string());
        }
    }
    match variant.get("default") {
        Some(default @ Value::String(_)) if inline && is_enum(variant) => {
            parts.push(format!("default: {}", json_text(default)))
        }
        Some(Value::String(s)) if inline => parts.push(format!("default: \"{s}\"")),
        Some(_) => parts.extend(default_comment(variant)),
        None => {}
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" // {}", parts.join(" "))
    }
}

fn one_of_inline(variants: &[Value], indent: &str) -> String {
    let mut out = String::new();
    for variant in variants {
        let ty = with_null(variant, schema_to_typescript(variant, &format!("{indent}   ")));
        out.push_str(&format!("\n{indent} | {ty}{}", variant_comment(variant, true, true)));
    }
    out
}

fn object_type(schema: &Value, indent: &str) -> String {
    let mut out = String::new();
    if let Some(desc) = schema.get("description").and_then(Value::as_str) {
        out.push_str(&format!("{indent}// {desc}\n"));
    }
    out.push_str("{\n");
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        // A set, not a list: looking every property up in a list of
        // required names would be quadratic. Only string entries count;
        // duplicates and names that are not properties change nothing.
        let required: HashSet<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (key, prop) in props {
            let opt = if required.contains(key.as_str()) { "" } else { "?" };
            property(&mut out, key, opt, prop, indent);
        }
    }
    out.push_str(&format!("{indent}}}"));
    out
}

/// One property: its comment lines, then `key?: type,`. A `oneOf` key
/// changes the layout even when it is not a list: the description and the
/// default move from their usual places (before the examples, after the
/// type) to just above the key, and are dropped if there is no list of
/// variants to render.
fn description_of(schema: &Value) -> Option<&str> {
    schema.get("description").and_then(Value::as_str)
}

fn property(out: &mut String, key: &str, opt: &str, prop: &Value, indent: &str) {
    let description = prop.get("description").and_then(Value::as_str);
    let has_one_of = prop.get("oneOf").is_some();
    if let Some(title) = prop.get("title").and_then(Value::as_str) {
        out.push_str(&format!("{indent}// {title}\n{indent}//\n"));
    }
    if let (Some(desc), false) = (description, has_one_of) {
        out.push_str(&format!("{indent}// {desc}\n"));
    }
    if let Some(examples) = prop.get("examples").and_then(Value::as_array) {
        if !examples.is_empty() {
            // Only string examples are listed; the header stays even when
            // none is a string.
            out.push_str(&format!("{indent}// Examples:\n"));
            for ex in examples.iter().filter_map(Value::as_str) {
                out.push_str(&format!("{indent}// - \"{ex}\"\n"));
            }
        }
    }
    if let Some(variants) = prop.get("oneOf").and_then(Value::as_array) {
        // The property's description stands in for the first variant's,
        // and for any variant's that repeats it. It is not shown at all
        // when the first variant repeats it.
        if let Some(desc) = description.filter(|d| variants.first().and_then(description_of) != Some(*d)) {
            out.push_str(&format!("{indent}// {desc}\n"));
        }
        if let Some(default) = default_comment(prop) {
            out.push_str(&format!("{indent}// {default}\n"));
        }
        out.push_str(&format!("{indent}{key}{opt}:\n"));
        for (i, variant) in variants.iter().enumerate() {
            let ty = with_null(variant, schema_to_typescript(variant, &format!("{indent}   ")));
            let shown = match description {
                Some(desc) => i > 0 && description_of(variant) != Some(desc),
                None => true,
            };
            let comment = variant_comment(variant, shown, false);
            out.push_str(&format!("{indent} | {ty}{comment}\n"));
        }
        out.push_str(&format!("{indent},\n"));
        return;
    }
    let ty = with_null(prop, schema_to_typescript(prop, &format!("{indent}    ")));
    out.push_str(&format!("{indent}{key}{opt}: {ty},"));
    if let (Some(default), false) = (default_comment(prop), has_one_of) {
        out.push_str(&format!(" // {default}"));
    }
    out.push('\n');
}
