//! Responses API requests to conversations, and parsed replies to output
//! items and response objects.

use serde_json::{json, Value};

use super::chat::{classify, message_text, Part};
use super::json::{invalid, invalid_at, Obj};
use super::names::ToolNames;
use super::request::{flatten, Builder};
use super::{new_id, ConversionOptions};
use crate::chat::{Conversation, Message};
use crate::error::Result;
use crate::grammar::ToolChoice;

/// The conversation a Responses request describes, after the items of
/// earlier turns (`previous_items`: earlier inputs and outputs, as a server
/// keeps them for `previous_response_id`). See `docs/interop.md`:
///
/// - `instructions` and system/developer messages become developer
///   instructions; `tools` of type `function` the `functions` namespace,
///   `web_search*` the browser tool, `code_interpreter` the python tool;
///   `reasoning.effort` the reasoning effort; `text.format` of type
///   `json_schema` a response format;
/// - `input` (a string, or items: `message`, `function_call`,
///   `function_call_output` matched by `call_id`, `reasoning`,
///   `web_search_call`) becomes the body; reasoning is dropped from turns
///   a final answer has closed.
pub fn conversation_from_responses(
    request: &Value,
    previous_items: Option<&[Value]>,
    options: &ConversionOptions,
) -> Result<Conversation> {
    let b = build(request, previous_items)?;
    require_input(request)?;
    b.finish(options)
}

/// A request to answer must say what to answer: `input`, a string or at
/// least one item (the tool names of a request need none).
fn require_input(request: &Value) -> Result<()> {
    match request.get("input") {
        None | Some(Value::Null) => Err(invalid_at("input", "input is required")),
        Some(Value::Array(items)) if items.is_empty() => Err(invalid_at("input", "input must hold at least one item")),
        _ => Ok(()),
    }
}

/// The conversation and the grammar's tool choice of a Responses request.
pub(crate) fn responses_conversation_and_choice(
    request: &Value,
    previous_items: Option<&[Value]>,
    options: &ConversionOptions,
) -> Result<(Conversation, ToolChoice)> {
    let b = build(request, previous_items)?;
    require_input(request)?;
    let choice = b.grammar_choice.clone();
    Ok((b.finish(options)?, choice))
}

/// The function names of a Responses request (and its earlier items), to
/// map the reply's calls back.
pub fn responses_tool_names(request: &Value, previous_items: Option<&[Value]>) -> Result<ToolNames> {
    Ok(build(request, previous_items)?.names)
}

fn build(request: &Value, previous_items: Option<&[Value]>) -> Result<Builder> {
    if !request.is_object() {
        return Err(invalid("the request must be a JSON object"));
    }
    let req = Obj::new(request, "")?;
    let mut b = Builder::default();
    if let Some(instructions) = req.str("instructions")? {
        b.instructions(instructions.to_string());
    }
    if let Some(tools) = req.array("tools")? {
        for (i, tool) in tools.iter().enumerate() {
            let path = format!("tools[{i}]");
            let tool = Obj::new(tool, &path)?;
            match tool.req_str("type")? {
                "function" => {
                    b.function(tool.req_str("name")?, tool.str("description")?, tool.get("parameters"), &path)?
                }
                kind if kind.starts_with("web_search") => b.browser = true,
                "code_interpreter" => b.python = true,
                other => {
                    return Err(invalid_at(
                        &format!("{path}.type"),
                        format!("{path}.type: unsupported tool type {other:?}"),
                    ))
                }
            }
        }
    }
    let choice = req.get("tool_choice");
    let mut named = None;
    let mut choice_for_builder = choice;
    // A built-in tool chosen: the grammar calls it first (the browser
    // starts with a search).
    let mut builtin = None;
    if let Some(value @ Value::Object(_)) = choice {
        let c = Obj::new(value, "tool_choice")?;
        match c.req_str("type")? {
            "function" => named = Some(c.req_str("name")?),
            kind if kind.starts_with("web_search") => (choice_for_builder, builtin) = (None, Some("browser.search")),
            "code_interpreter" => (choice_for_builder, builtin) = (None, Some("python")),
            other => {
                return Err(invalid_at(
                    "tool_choice.type",
                    format!("tool_choice.type: unsupported tool choice {other:?}"),
                ))
            }
        }
    }
    b.tool_choice(choice_for_builder, named, "tool_choice")?;
    if let Some(recipient) = builtin {
        b.grammar_choice = ToolChoice::Named(recipient.to_string());
    }
    if let Some(reasoning) = req.get("reasoning") {
        b.reasoning_effort(Obj::new(reasoning, "reasoning")?.str("effort")?, "reasoning.effort")?;
    }
    if let Some(text) = req.get("text") {
        if let Some(format) = Obj::new(text, "text")?.get("format") {
            let format = Obj::new(format, "text.format")?;
            b.response_format(format, Some(format))?;
        }
    }
    for (i, item) in previous_items.unwrap_or_default().iter().enumerate() {
        let path = format!("previous_items[{i}]");
        item_into(&mut b, Obj::new(item, &path)?, &path)?;
    }
    match req.get("input") {
        None => {}
        Some(Value::String(text)) => b.user(text.clone()),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("input[{i}]");
                item_into(&mut b, Obj::new(item, &path)?, &path)?;
            }
        }
        Some(_) => return Err(invalid_at("input", "input must be a string or an array of items")),
    }
    Ok(b)
}

fn item_into(b: &mut Builder, item: Obj<'_, '_>, path: &str) -> Result<()> {
    let content_path = format!("{path}.content");
    match item.str("type")?.unwrap_or("message") {
        "message" => {
            let text = flatten(item.get("content"), &content_path)?;
            match item.req_str("role")? {
                "user" => b.user(text),
                "system" | "developer" => b.instructions(text),
                "assistant" => {
                    let channel = if item.str("phase")? == Some("commentary") { "commentary" } else { "final" };
                    b.assistant(channel, text);
                }
                other => {
                    return Err(invalid_at(&format!("{path}.role"), format!("{path}.role: unknown role {other:?}")))
                }
            }
        }
        "function_call" => {
            let arguments = item.str("arguments")?.unwrap_or("{}");
            b.call(item.req_str("call_id")?, item.req_str("name")?, arguments, &format!("{path}.arguments"))?;
        }
        "function_call_output" => {
            let output = flatten(item.get("output"), &format!("{path}.output"))?;
            b.tool_result(item.req_str("call_id")?, output, path)?;
        }
        "reasoning" => {
            let texts = |key: &str| -> Result<Vec<String>> {
                let mut out = Vec::new();
                for (k, part) in item.array(key)?.map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
                    let part_path = format!("{path}.{key}[{k}]");
                    out.push(Obj::new(part, &part_path)?.req_str("text")?.to_string());
                }
                Ok(out)
            };
            let mut text = texts("content")?;
            if text.is_empty() {
                text = texts("summary")?;
            }
            if !text.is_empty() {
                b.assistant("analysis", text.join("\n"));
            }
        }
        "web_search_call" => {
            let action_path = format!("{path}.action");
            let action = Obj::new(
                item.get("action").ok_or_else(|| invalid_at(&action_path, format!("{action_path} is required")))?,
                &action_path,
            )?;
            let (recipient, arguments) = match action.req_str("type")? {
                "search" => ("browser.search", json!({"query": action.str("query")?.unwrap_or_default()})),
                "open_page" => ("browser.open", json!({"id": action.str("url")?.unwrap_or_default()})),
                "find_in_page" => ("browser.find", json!({"pattern": action.req_str("pattern")?})),
                other => {
                    return Err(invalid_at(
                        &format!("{action_path}.type"),
                        format!("{action_path}.type: unsupported web search action {other:?}"),
                    ))
                }
            };
            b.builtin_call(recipient, arguments.to_string());
        }
        other => {
            return Err(invalid_at(&format!("{path}.type"), format!("{path}.type: unsupported item type {other:?}")))
        }
    }
    Ok(())
}

/// What an output item is, decided from the message header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ItemKind {
    Reasoning,
    Message { final_answer: bool },
    FunctionCall { name: String, call_id: String },
    WebSearch { recipient: String },
    CodeInterpreter,
}

impl ItemKind {
    pub(crate) fn of(part: Part<'_>) -> Option<ItemKind> {
        Some(match part {
            Part::Reasoning => ItemKind::Reasoning,
            Part::Text { final_answer } => ItemKind::Message { final_answer },
            Part::Function(name) => ItemKind::FunctionCall { name: name.to_string(), call_id: new_id("call") },
            Part::Builtin(r) if r.starts_with("browser.") => ItemKind::WebSearch { recipient: r.to_string() },
            Part::Builtin("python") => ItemKind::CodeInterpreter,
            Part::Builtin(r) => ItemKind::FunctionCall { name: r.to_string(), call_id: new_id("call") },
            Part::Skip => return None,
        })
    }

    pub(crate) fn new_item_id(&self) -> String {
        new_id(match self {
            ItemKind::Reasoning => "rs",
            ItemKind::Message { .. } => "msg",
            ItemKind::FunctionCall { .. } => "fc",
            ItemKind::WebSearch { .. } => "ws",
            ItemKind::CodeInterpreter => "ci",
        })
    }

    /// The item with this text; `done` gives the finished item, else the
    /// one announced by `response.output_item.added`.
    pub(crate) fn item(&self, id: &str, text: &str, done: bool) -> Value {
        let status = if done { "completed" } else { "in_progress" };
        match self {
            ItemKind::Reasoning => json!({
                "type": "reasoning", "id": id, "summary": [], "status": status,
                "content": if done { json!([{"type": "reasoning_text", "text": text}]) } else { json!([]) },
            }),
            ItemKind::Message { final_answer } => json!({
                "type": "message", "id": id, "role": "assistant", "status": status,
                "phase": if *final_answer { "final_answer" } else { "commentary" },
                "content": if done { json!([output_text(text)]) } else { json!([]) },
            }),
            ItemKind::FunctionCall { name, call_id } => json!({
                "type": "function_call", "id": id, "call_id": call_id, "name": name,
                "arguments": text, "status": status,
            }),
            ItemKind::WebSearch { recipient } => json!({
                "type": "web_search_call", "id": id,
                "status": status,
                "action": if done { web_search_action(recipient, text) } else { json!({"type": "search"}) },
            }),
            ItemKind::CodeInterpreter => json!({
                "type": "code_interpreter_call", "id": id, "code": text, "container_id": "",
                "outputs": null, "status": status,
            }),
        }
    }
}

/// An `output_text` content part.
pub(crate) fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// The web search action of a browser call (`search`, `open`, `find`).
fn web_search_action(recipient: &str, arguments: &str) -> Value {
    let args: Value = serde_json::from_str(arguments).unwrap_or(Value::Null);
    let field = |key: &str| args.get(key).and_then(Value::as_str).map(str::to_string);
    match recipient {
        "browser.open" => json!({"type": "open_page", "url": field("id")}),
        "browser.find" => {
            json!({"type": "find_in_page", "pattern": field("pattern").unwrap_or_default(), "url": field("url").unwrap_or_default()})
        }
        _ => json!({"type": "search", "query": field("query")}),
    }
}

/// The output items of a parsed reply: `reasoning` from analysis text,
/// `message` (`output_text`) from final text and commentary without a
/// recipient, `function_call` from calls to functions (API names, fresh
/// `call_id`s), `web_search_call` from browser calls, `code_interpreter_call`
/// from python calls.
pub fn response_output_from_harmony(messages: &[Message], names: &ToolNames) -> Result<Vec<Value>> {
    Ok(messages
        .iter()
        .filter_map(|m| {
            let kind = ItemKind::of(classify(m, names))?;
            Some(kind.item(&kind.new_item_id(), &message_text(m), true))
        })
        .collect())
}

/// A `response` object: `status` is `completed`, `incomplete` (then
/// `incomplete_details` says `max_output_tokens` and the last output item,
/// the one the budget cut off, is `incomplete` too) or `in_progress`; the
/// request (when given) supplies `instructions`, `tools` and `tool_choice`.
pub fn response_object(
    id: &str,
    model: &str,
    created_at: u64,
    status: &str,
    mut output: Vec<Value>,
    request: Option<&Value>,
) -> Value {
    if status == "incomplete" {
        if let Some(last) = output.last_mut().and_then(Value::as_object_mut) {
            last.insert("status".into(), json!("incomplete"));
        }
    }
    let field = |key: &str| request.and_then(|r| r.get(key)).filter(|v| !v.is_null()).cloned();
    let tools: Vec<Value> = field("tools")
        .and_then(|t| t.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .map(|tool| match tool.get("type").and_then(Value::as_str) {
            Some("function") => json!({
                "type": "function",
                "name": tool.get("name"),
                "description": tool.get("description"),
                "parameters": tool.get("parameters"),
                "strict": tool.get("strict").cloned().unwrap_or(Value::Bool(false)),
            }),
            _ => tool,
        })
        .collect();
    json!({
        "id": id,
        "object": "response",
        "created_at": created_at,
        "model": model,
        "status": status,
        "output": output,
        "error": null,
        "incomplete_details": if status == "incomplete" { json!({"reason": "max_output_tokens"}) } else { Value::Null },
        "instructions": field("instructions"),
        "metadata": field("metadata"),
        "parallel_tool_calls": field("parallel_tool_calls").unwrap_or(Value::Bool(true)),
        "tool_choice": field("tool_choice").unwrap_or_else(|| json!("auto")),
        "tools": tools,
    })
}
