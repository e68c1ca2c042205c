//! Chat Completions requests to conversations, and parsed replies to a
//! chat completion message.

use serde_json::{json, Value};

use super::json::{invalid, invalid_at, Obj};
use super::names::ToolNames;
use super::request::{flatten, Builder};
use super::{new_id, ConversionOptions};
use crate::chat::{Content, Conversation, Message, Role};
use crate::error::Result;
use crate::grammar::ToolChoice;

/// The conversation a Chat Completions request describes (see
/// `docs/interop.md` for every rule):
///
/// - a system message with the request's `reasoning_effort` and the date;
/// - one developer message with the `system` and `developer` messages as
///   instructions, the `tools` as the `functions` namespace and a
///   `json_schema` `response_format`;
/// - user messages as they are; assistant messages as their preamble,
///   reasoning and calls (or reasoning and final answer); tool messages
///   from `functions.NAME` found through `tool_call_id`;
/// - reasoning dropped from turns a final answer has closed.
pub fn conversation_from_chat_completions(request: &Value, options: &ConversionOptions) -> Result<Conversation> {
    let b = build(request)?;
    require_messages(request)?;
    b.finish(options)
}

/// A request to answer must hold a message to answer (the tool names of a
/// request need none).
fn require_messages(request: &Value) -> Result<()> {
    match request.get("messages") {
        Some(Value::Array(messages)) if messages.is_empty() => {
            Err(invalid_at("messages", "messages must hold at least one message"))
        }
        _ => Ok(()),
    }
}

/// The conversation and the grammar's tool choice of a Chat Completions request.
pub(crate) fn chat_conversation_and_choice(
    request: &Value,
    options: &ConversionOptions,
) -> Result<(Conversation, ToolChoice)> {
    let b = build(request)?;
    require_messages(request)?;
    let choice = b.grammar_choice.clone();
    Ok((b.finish(options)?, choice))
}

/// The function names of a Chat Completions request, to map the reply's
/// calls back ([`chat_completion_message_from_harmony`],
/// [`ChatCompletionStream`](super::ChatCompletionStream)).
pub fn chat_tool_names(request: &Value) -> Result<ToolNames> {
    Ok(build(request)?.names)
}

fn build(request: &Value) -> Result<Builder> {
    if !request.is_object() {
        return Err(invalid("the request must be a JSON object"));
    }
    let req = Obj::new(request, "")?;
    let mut b = Builder::default();
    if let Some(tools) = req.array("tools")? {
        for (i, tool) in tools.iter().enumerate() {
            let path = format!("tools[{i}]");
            let tool = Obj::new(tool, &path)?;
            match tool.req_str("type")? {
                "function" => {
                    let fpath = format!("{path}.function");
                    let f = Obj::new(
                        tool.get("function").ok_or_else(|| invalid_at(&fpath, format!("{fpath} is required")))?,
                        &fpath,
                    )?;
                    b.function(f.req_str("name")?, f.str("description")?, f.get("parameters"), &fpath)?;
                }
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
    let named = match choice {
        Some(value @ Value::Object(_)) => {
            let c = Obj::new(value, "tool_choice")?;
            match c.get("function") {
                Some(f) => Obj::new(f, "tool_choice.function")?.str("name")?,
                None => None,
            }
        }
        _ => None,
    };
    b.tool_choice(choice, named, "tool_choice")?;
    b.reasoning_effort(req.str("reasoning_effort")?, "reasoning_effort")?;
    if let Some(format) = req.get("response_format") {
        let format = Obj::new(format, "response_format")?;
        let spec = match format.get("json_schema") {
            Some(spec) => Some(Obj::new(spec, "response_format.json_schema")?),
            None => None,
        };
        b.response_format(format, spec)?;
    }
    let messages = req.array("messages")?.ok_or_else(|| invalid_at("messages", "messages is required"))?;
    for (i, message) in messages.iter().enumerate() {
        let path = format!("messages[{i}]");
        message_into(&mut b, Obj::new(message, &path)?, &path)?;
    }
    Ok(b)
}

fn message_into(b: &mut Builder, m: Obj<'_, '_>, path: &str) -> Result<()> {
    let content_path = format!("{path}.content");
    let content = || flatten(m.get("content"), &content_path);
    match m.req_str("role")? {
        "system" | "developer" => b.instructions(content()?),
        "user" => b.user(content()?),
        "assistant" => {
            if m.get("function_call").is_some() {
                return Err(invalid_at(
                    &format!("{path}.function_call"),
                    format!("{path}.function_call is deprecated and not supported; use tool_calls"),
                ));
            }
            let text = content()?;
            let reasoning = match m.str("reasoning_content")? {
                Some(r) => Some(r),
                None => m.str("reasoning")?,
            }
            .filter(|r| !r.is_empty());
            let calls = m.array("tool_calls")?.filter(|calls| !calls.is_empty());
            match calls {
                Some(calls) => {
                    if !text.is_empty() {
                        b.assistant("commentary", text);
                    }
                    if let Some(r) = reasoning {
                        b.assistant("analysis", r.to_string());
                    }
                    for (k, call) in calls.iter().enumerate() {
                        let cpath = format!("{path}.tool_calls[{k}]");
                        let c = Obj::new(call, &cpath)?;
                        if let Some(kind) = c.str("type")? {
                            if kind != "function" {
                                return Err(invalid_at(
                                    &format!("{cpath}.type"),
                                    format!("{cpath}.type: unsupported tool call type {kind:?}"),
                                ));
                            }
                        }
                        let fpath = format!("{cpath}.function");
                        let f = Obj::new(
                            c.get("function").ok_or_else(|| invalid_at(&fpath, format!("{fpath} is required")))?,
                            &fpath,
                        )?;
                        let arguments = f.str("arguments")?.unwrap_or("{}");
                        b.call(c.req_str("id")?, f.req_str("name")?, arguments, &format!("{fpath}.arguments"))?;
                    }
                }
                None => {
                    if let Some(r) = reasoning {
                        b.assistant("analysis", r.to_string());
                    }
                    if !text.is_empty() || reasoning.is_none() {
                        b.assistant("final", text);
                    }
                }
            }
        }
        "tool" => {
            let id = m.req_str("tool_call_id")?;
            b.tool_result(id, content()?, path)?;
        }
        "function" => {
            return Err(invalid_at(
                path,
                format!("{path}: role \"function\" is deprecated and not supported; use \"tool\""),
            ))
        }
        other => return Err(invalid_at(&format!("{path}.role"), format!("{path}.role: unknown role {other:?}"))),
    }
    Ok(())
}

/// The text of a message (its text content items, concatenated).
pub(crate) fn message_text(message: &Message) -> String {
    message
        .content
        .iter()
        .filter_map(|c| match c {
            Content::Text(t) => Some(t.text.as_str()),
            _ => None,
        })
        .collect()
}

/// Where a message of the reply goes in the API's terms.
pub(crate) enum Part<'a> {
    /// Reasoning (analysis without a recipient).
    Reasoning,
    /// Text for the user (final, or commentary without a recipient).
    Text { final_answer: bool },
    /// A call to a function of the request (its API name).
    Function(&'a str),
    /// A call to another recipient (`browser.search`, `python`).
    Builtin(&'a str),
    /// Not part of the reply (another role speaking).
    Skip,
}

pub(crate) fn classify<'a>(message: &'a Message, names: &'a ToolNames) -> Part<'a> {
    classify_header(message.author.role, message.channel.as_deref(), message.recipient.as_deref(), names)
}

/// [`classify`] from a message's header fields.
pub(crate) fn classify_header<'a>(
    role: Role,
    channel: Option<&str>,
    recipient: Option<&'a str>,
    names: &'a ToolNames,
) -> Part<'a> {
    if role != Role::Assistant {
        return Part::Skip;
    }
    match recipient {
        Some(recipient) if recipient != "all" && recipient != "user" => match recipient.strip_prefix("functions.") {
            Some(name) => Part::Function(names.api_name(name)),
            None => Part::Builtin(recipient),
        },
        _ => match channel {
            Some("analysis") => Part::Reasoning,
            Some("final") | None => Part::Text { final_answer: true },
            Some(_) => Part::Text { final_answer: false },
        },
    }
}

/// The assistant message of a chat completion, from the parsed reply:
/// `{role, content, reasoning_content, tool_calls}`. Analysis text goes to
/// `reasoning_content`; final text and commentary without a recipient to
/// `content`; each call becomes a tool call with a fresh id (calls to
/// `functions.X` under their API names, other recipients under their
/// recipient). Absent parts are `null`.
pub fn chat_completion_message_from_harmony(messages: &[Message], names: &ToolNames) -> Result<Value> {
    chat_message(messages, names)
}

/// What a whole `chat.completion` object says besides its message.
#[derive(Debug, Clone, Default)]
pub struct CompletionInfo {
    /// `chatcmpl_…`; a fresh one when `None`.
    pub id: Option<String>,
    /// The model name; the request's `model`, else `gpt-oss`, when `None`.
    pub model: Option<String>,
    /// Unix seconds; now when `None`.
    pub created: Option<u64>,
    /// `tool_calls` when the reply calls tools, else `stop`, when `None`.
    pub finish_reason: Option<super::FinishReason>,
    /// The `usage` object, if any.
    pub usage: Option<Value>,
}

/// A whole `chat.completion` object for a non-streaming reply (the
/// streaming chunks come from [`super::ChatCompletionStream`]).
pub fn chat_completion_object(
    messages: &[Message],
    names: &ToolNames,
    request: Option<&Value>,
    info: CompletionInfo,
) -> Result<Value> {
    let message = chat_message(messages, names)?;
    let calls = message.get("tool_calls").is_some_and(|c| !c.is_null());
    let reason = info.finish_reason.map_or(if calls { "tool_calls" } else { "stop" }, |r| r.as_str());
    let mut out = json!({
        "id": info.id.unwrap_or_else(|| new_id("chatcmpl")),
        "object": "chat.completion",
        "created": info.created.unwrap_or_else(super::unix_now),
        "model": super::model_of(request, info.model.as_deref()),
        "choices": [{"index": 0, "message": message, "finish_reason": reason, "logprobs": null}],
    });
    if let (Some(usage), Some(obj)) = (info.usage, out.as_object_mut()) {
        obj.insert("usage".into(), usage);
    }
    Ok(out)
}

fn chat_message(messages: &[Message], names: &ToolNames) -> Result<Value> {
    let mut content: Vec<String> = Vec::new();
    let mut reasoning: Vec<String> = Vec::new();
    let mut calls: Vec<Value> = Vec::new();
    for message in messages {
        let text = message_text(message);
        match classify(message, names) {
            Part::Reasoning => reasoning.push(text),
            Part::Text { .. } => content.push(text),
            Part::Function(name) | Part::Builtin(name) => calls.push(json!({
                "id": new_id("call"),
                "type": "function",
                "function": {"name": name, "arguments": text},
            })),
            Part::Skip => {}
        }
    }
    let join = |parts: Vec<String>| if parts.is_empty() { Value::Null } else { Value::String(parts.join("\n")) };
    Ok(json!({
        "role": "assistant",
        "content": join(content),
        "reasoning_content": join(reasoning),
        "tool_calls": if calls.is_empty() { Value::Null } else { Value::Array(calls) },
    }))
}
