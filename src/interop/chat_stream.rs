//! Completion tokens to `chat.completion.chunk` objects, as they arrive.

use serde_json::{json, Value};

use super::chat::{classify_header, Part};
use super::names::ToolNames;
use super::{new_id, unix_now};
use crate::chat::{Message, Role};
use crate::encoding::HarmonyEncoding;
use crate::error::Result;
use crate::parse::{ParseEvent, StreamableParser};
use crate::tokenizer::{Rank, TokenId};

/// Why a reply ended, in Chat Completions terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model ended its turn (`<|return|>`, or `<|end|>` as last token).
    Stop,
    /// The model called tools (`<|call|>`); the client runs them.
    ToolCalls,
    /// The token budget ran out before a stop token.
    Length,
}

impl FinishReason {
    /// The API's word: `stop`, `tool_calls`, `length`.
    pub fn as_str(&self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::Length => "length",
        }
    }
}

/// What the message being streamed becomes.
#[derive(Debug, Clone, Copy)]
enum Current {
    Reasoning,
    Content,
    Call(usize),
    Skip,
}

/// Turns completion tokens into `chat.completion.chunk` objects.
///
/// Feed tokens with [`process`](Self::process) or
/// [`process_tokens`](Self::process_tokens); each returns the chunks the
/// new tokens complete: `reasoning_content` deltas, `content` deltas, and
/// `tool_calls` deltas (the first with the call's `index`, `id`, `type`
/// and `name`, then argument fragments under the same `index`). The first
/// chunk carries `role: "assistant"`. [`finish`](Self::finish) returns the
/// last chunk, with the `finish_reason`. The parser is lenient: malformed
/// output is repaired, never an error.
#[derive(Debug)]
pub struct ChatCompletionStream {
    parser: StreamableParser,
    names: ToolNames,
    id: String,
    model: String,
    created: u64,
    role_sent: bool,
    current: Option<Current>,
    tool_calls: usize,
    finished: bool,
    /// With `stream_options.include_usage`: the prompt's length, for the
    /// usage chunk [`finish`](Self::finish) adds.
    usage: Option<usize>,
}

impl ChatCompletionStream {
    /// A stream for one reply; `names` maps calls back to the request's
    /// function names (see [`chat_tool_names`](super::chat_tool_names)).
    pub fn new(encoding: HarmonyEncoding, names: ToolNames, model: impl Into<String>) -> Self {
        ChatCompletionStream {
            parser: StreamableParser::new(encoding, Some(Role::Assistant))
                .strict(false)
                .with_tools(names.recipients())
                .server_repairs(true),
            names,
            id: new_id("chatcmpl"),
            model: model.into(),
            created: unix_now(),
            role_sent: false,
            current: None,
            tool_calls: 0,
            finished: false,
            usage: None,
        }
    }

    /// Ends the stream with the usage chunk (`choices: []`, `usage`:
    /// `prompt_tokens`, `completion_tokens` (the tokens fed), `total_tokens`)
    /// when the request asks for it with `stream_options.include_usage`.
    pub fn with_usage_for(mut self, request: &Value, prompt_tokens: usize) -> Self {
        let asked = request.pointer("/stream_options/include_usage").and_then(Value::as_bool).unwrap_or(false);
        self.usage = asked.then_some(prompt_tokens);
        self
    }

    /// Uses this completion id instead of a fresh one.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Uses this creation time (Unix seconds) instead of now.
    pub fn with_created(mut self, created: u64) -> Self {
        self.created = created;
        self
    }

    /// The completion id every chunk carries.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The messages parsed so far.
    pub fn messages(&self) -> &[Message] {
        self.parser.messages()
    }

    /// The repairs the (lenient) parser made to the model's output so far.
    pub fn diagnostics(&self) -> &[crate::parse::Diagnostic] {
        self.parser.diagnostics()
    }

    /// The number of tool calls so far.
    pub fn tool_call_count(&self) -> usize {
        self.tool_calls
    }

    /// Feeds one token; returns the chunks it completes (often none).
    pub fn process(&mut self, token: Rank) -> Result<Vec<Value>> {
        self.process_tokens(&[token])
    }

    /// Feeds several tokens; consecutive text of one message comes out as
    /// one delta.
    pub fn process_tokens(&mut self, tokens: &[Rank]) -> Result<Vec<Value>> {
        for &token in tokens {
            self.parser.process(token)?;
        }
        Ok(self.drain())
    }

    /// [`process_tokens`](Self::process_tokens) for ids as a caller holds
    /// them (see [`StreamableParser::process_id`](crate::StreamableParser::process_id)).
    pub fn process_ids(&mut self, ids: &[TokenId]) -> Result<Vec<Value>> {
        for id in ids {
            self.parser.process_id(id)?;
        }
        Ok(self.drain())
    }

    /// Ends the reply: returns the remaining chunks and the last one with
    /// the finish reason (`reason`, or, when `None`: `length` if the last
    /// token was not a stop token, else `tool_calls` if there were calls,
    /// else `stop`). Later calls return nothing.
    pub fn finish(&mut self, reason: Option<FinishReason>) -> Result<Vec<Value>> {
        if self.finished {
            return Ok(Vec::new());
        }
        self.parser.process_eos()?;
        let mut chunks = self.drain();
        let reason = reason.unwrap_or_else(|| self.inferred_reason());
        let delta = self.delta(json!({}));
        chunks.push(self.chunk(delta, Some(reason)));
        if let Some(prompt_tokens) = self.usage {
            chunks.push(json!({
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": super::chat_completion_usage(prompt_tokens, self.parser.tokens().len()),
            }));
        }
        self.finished = true;
        Ok(chunks)
    }

    /// The reason [`finish`](Self::finish) would give now.
    pub fn inferred_reason(&self) -> FinishReason {
        let stopped = super::ended_on_stop(&self.parser);
        if !stopped {
            FinishReason::Length
        } else if self.tool_calls > 0 {
            FinishReason::ToolCalls
        } else {
            FinishReason::Stop
        }
    }

    fn drain(&mut self) -> Vec<Value> {
        let mut chunks = Vec::new();
        for event in self.parser.drain_events() {
            match event {
                ParseEvent::MessageStarted { role, channel, recipient, .. } => {
                    let part = classify_header(role, channel.as_deref(), recipient.as_deref(), &self.names);
                    let current = match part {
                        Part::Reasoning => Current::Reasoning,
                        Part::Text { .. } => Current::Content,
                        Part::Function(name) | Part::Builtin(name) => {
                            let index = self.tool_calls;
                            let delta = json!({"tool_calls": [{
                                "index": index,
                                "id": new_id("call"),
                                "type": "function",
                                "function": {"name": name, "arguments": ""},
                            }]});
                            self.tool_calls += 1;
                            let delta = self.delta(delta);
                            chunks.push(self.chunk(delta, None));
                            Current::Call(index)
                        }
                        Part::Skip => Current::Skip,
                    };
                    self.current = Some(current);
                }
                ParseEvent::ContentDelta { text, .. } => {
                    let delta = match self.current {
                        Some(Current::Reasoning) => json!({"reasoning_content": text}),
                        Some(Current::Content) => json!({"content": text}),
                        Some(Current::Call(index)) => {
                            json!({"tool_calls": [{"index": index, "function": {"arguments": text}}]})
                        }
                        Some(Current::Skip) | None => continue,
                    };
                    let delta = self.delta(delta);
                    chunks.push(self.chunk(delta, None));
                }
                ParseEvent::MessageCompleted { .. } => self.current = None,
            }
        }
        chunks
    }

    /// Adds `role` to the first delta.
    fn delta(&mut self, mut delta: Value) -> Value {
        if !self.role_sent {
            self.role_sent = true;
            if let Value::Object(map) = &mut delta {
                map.insert("role".into(), json!("assistant"));
            }
        }
        delta
    }

    fn chunk(&self, delta: Value, finish_reason: Option<FinishReason>) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "delta": delta,
                "logprobs": null,
                "finish_reason": finish_reason.map(|r| r.as_str()),
            }],
        })
    }
}
