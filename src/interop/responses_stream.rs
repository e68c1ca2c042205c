//! Completion tokens to Responses API streaming events, as they arrive.

use serde_json::{json, Value};

use super::chat::classify_header;
use super::chat_stream::FinishReason;
use super::names::ToolNames;
use super::responses::{output_text, response_object, ItemKind};
use super::{new_id, unix_now};
use crate::chat::{Message, Role};
use crate::encoding::HarmonyEncoding;
use crate::error::Result;
use crate::parse::{ParseEvent, StreamableParser};
use crate::tokenizer::{Rank, TokenId};

/// The output item being streamed.
#[derive(Debug)]
struct OpenItem {
    kind: Option<ItemKind>,
    id: String,
    output_index: usize,
    text: String,
}

/// Turns completion tokens into Responses streaming events, numbered by
/// `sequence_number` from 0:
///
/// `response.created`, `response.in_progress`; per output item
/// `response.output_item.added`, then for reasoning and messages
/// `response.content_part.added`, `response.reasoning_text.delta` /
/// `response.output_text.delta`…, `….done`, `response.content_part.done`;
/// for function calls `response.function_call_arguments.delta`… and
/// `.done`; then `response.output_item.done`; at the end
/// `response.completed` (or `response.incomplete` when the token budget ran
/// out) with the whole response.
#[derive(Debug)]
pub struct ResponsesStream {
    parser: StreamableParser,
    names: ToolNames,
    id: String,
    model: String,
    created_at: u64,
    request: Option<Value>,
    sequence: u64,
    output: Vec<Value>,
    open: Option<OpenItem>,
    started: bool,
    finished: bool,
    /// Items closed now are cut off (the token budget ran out).
    cut_off: bool,
    /// The prompt's length, for the final response's `usage`.
    prompt_tokens: Option<usize>,
}

impl ResponsesStream {
    /// A stream for one reply to `request` (which supplies the echoed
    /// `tools`, `tool_choice` and `instructions`); `names` maps calls back
    /// (see [`responses_tool_names`](super::responses_tool_names)).
    pub fn new(encoding: HarmonyEncoding, names: ToolNames, model: impl Into<String>, request: Option<Value>) -> Self {
        ResponsesStream {
            parser: StreamableParser::new(encoding, Some(Role::Assistant))
                .strict(false)
                .with_tools(names.recipients())
                .server_repairs(true),
            names,
            id: new_id("resp"),
            model: model.into(),
            created_at: unix_now(),
            request,
            sequence: 0,
            output: Vec::new(),
            open: None,
            started: false,
            finished: false,
            cut_off: false,
            prompt_tokens: None,
        }
    }

    /// Gives the final response (`response.completed` / `.incomplete`) its
    /// `usage`, the prompt being this long (see [`responses_usage`](super::responses_usage)).
    pub fn with_prompt_tokens(mut self, prompt_tokens: usize) -> Self {
        self.prompt_tokens = Some(prompt_tokens);
        self
    }

    /// Uses this response id instead of a fresh one.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// The response id.
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

    /// The finished output items so far.
    pub fn output(&self) -> &[Value] {
        &self.output
    }

    /// The response object as it stands (`status` as given).
    pub fn response(&self, status: &str) -> Value {
        response_object(&self.id, &self.model, self.created_at, status, self.output.clone(), self.request.as_ref())
    }

    /// `response.created` and `response.in_progress` (also sent before the
    /// first events of [`process`](Self::process) if not asked for).
    pub fn start(&mut self) -> Vec<Value> {
        let mut events = Vec::new();
        self.ensure_started(&mut events);
        events
    }

    /// Feeds one token; returns the events it completes.
    pub fn process(&mut self, token: Rank) -> Result<Vec<Value>> {
        self.process_tokens(&[token])
    }

    /// Feeds several tokens; consecutive text of one item comes out as one
    /// delta event.
    pub fn process_tokens(&mut self, tokens: &[Rank]) -> Result<Vec<Value>> {
        for &token in tokens {
            self.parser.process(token)?;
        }
        let mut events = Vec::new();
        self.ensure_started(&mut events);
        self.drain(&mut events);
        Ok(events)
    }

    /// [`process_tokens`](Self::process_tokens) for ids as a caller holds
    /// them (see [`StreamableParser::process_id`](crate::StreamableParser::process_id)).
    pub fn process_ids(&mut self, ids: &[TokenId]) -> Result<Vec<Value>> {
        for id in ids {
            self.parser.process_id(id)?;
        }
        let mut events = Vec::new();
        self.ensure_started(&mut events);
        self.drain(&mut events);
        Ok(events)
    }

    /// Ends the reply: the remaining events and `response.completed`, or
    /// `response.incomplete` when `reason` is `Length` (by default: when
    /// the last token was not a stop token). Later calls return nothing.
    pub fn finish(&mut self, reason: Option<FinishReason>) -> Result<Vec<Value>> {
        if self.finished {
            return Ok(Vec::new());
        }
        let stopped = super::ended_on_stop(&self.parser);
        let length = match reason {
            Some(reason) => reason == FinishReason::Length,
            None => !stopped,
        };
        let mut events = Vec::new();
        self.ensure_started(&mut events);
        self.drain(&mut events);
        // What is still open now was cut off by the budget (or ends the reply).
        self.cut_off = length;
        self.parser.process_eos()?;
        self.drain(&mut events);
        let (kind, status) =
            if length { ("response.incomplete", "incomplete") } else { ("response.completed", "completed") };
        let mut response = self.response(status);
        if let (Some(prompt_tokens), Value::Object(map)) = (self.prompt_tokens, &mut response) {
            let usage = super::responses_usage(
                self.parser.encoding(),
                prompt_tokens,
                self.parser.tokens().len(),
                self.parser.messages(),
            );
            map.insert("usage".into(), usage);
        }
        self.emit(&mut events, kind, json!({"response": response}));
        self.finished = true;
        Ok(events)
    }

    fn ensure_started(&mut self, events: &mut Vec<Value>) {
        if !self.started {
            self.started = true;
            let response = self.response("in_progress");
            self.emit(events, "response.created", json!({"response": response.clone()}));
            self.emit(events, "response.in_progress", json!({"response": response}));
        }
    }

    fn emit(&mut self, events: &mut Vec<Value>, kind: &str, mut body: Value) {
        if let Value::Object(map) = &mut body {
            map.insert("type".into(), json!(kind));
            map.insert("sequence_number".into(), json!(self.sequence));
        }
        self.sequence += 1;
        events.push(body);
    }

    fn drain(&mut self, events: &mut Vec<Value>) {
        for event in self.parser.drain_events() {
            match event {
                ParseEvent::MessageStarted { role, channel, recipient, .. } => {
                    let kind =
                        ItemKind::of(classify_header(role, channel.as_deref(), recipient.as_deref(), &self.names));
                    let item = OpenItem {
                        id: kind.as_ref().map(ItemKind::new_item_id).unwrap_or_default(),
                        kind,
                        output_index: self.output.len(),
                        text: String::new(),
                    };
                    self.opened(events, &item);
                    self.open = Some(item);
                }
                ParseEvent::ContentDelta { text, .. } => {
                    let Some(mut item) = self.open.take() else { continue };
                    self.delta(events, &item, &text);
                    item.text.push_str(&text);
                    self.open = Some(item);
                }
                ParseEvent::MessageCompleted { .. } => {
                    if let Some(item) = self.open.take() {
                        self.closed(events, item);
                    }
                }
            }
        }
    }

    fn part(kind: &ItemKind, text: &str) -> Option<Value> {
        match kind {
            ItemKind::Reasoning => Some(json!({"type": "reasoning_text", "text": text})),
            ItemKind::Message { .. } => Some(output_text(text)),
            _ => None,
        }
    }

    fn opened(&mut self, events: &mut Vec<Value>, item: &OpenItem) {
        let Some(kind) = &item.kind else { return };
        let added = kind.item(&item.id, "", false);
        self.emit(events, "response.output_item.added", json!({"output_index": item.output_index, "item": added}));
        if let Some(part) = Self::part(kind, "") {
            self.emit(
                events,
                "response.content_part.added",
                json!({"item_id": item.id, "output_index": item.output_index, "content_index": 0, "part": part}),
            );
        }
    }

    fn delta(&mut self, events: &mut Vec<Value>, item: &OpenItem, text: &str) {
        let Some(kind) = &item.kind else { return };
        let (event, mut body) = match kind {
            ItemKind::Reasoning => ("response.reasoning_text.delta", json!({"content_index": 0})),
            ItemKind::Message { .. } => ("response.output_text.delta", json!({"content_index": 0, "logprobs": []})),
            ItemKind::FunctionCall { .. } => ("response.function_call_arguments.delta", json!({})),
            ItemKind::WebSearch { .. } | ItemKind::CodeInterpreter => return,
        };
        if let Value::Object(map) = &mut body {
            map.insert("item_id".into(), json!(item.id));
            map.insert("output_index".into(), json!(item.output_index));
            map.insert("delta".into(), json!(text));
        }
        self.emit(events, event, body);
    }

    fn closed(&mut self, events: &mut Vec<Value>, item: OpenItem) {
        let Some(kind) = &item.kind else { return };
        let at = json!({"item_id": item.id, "output_index": item.output_index});
        let with = |extra: Value| {
            let mut body = at.clone();
            if let (Value::Object(map), Value::Object(more)) = (&mut body, extra) {
                map.extend(more);
            }
            body
        };
        match kind {
            ItemKind::Reasoning => {
                self.emit(events, "response.reasoning_text.done", with(json!({"content_index": 0, "text": item.text})));
            }
            ItemKind::Message { .. } => {
                self.emit(
                    events,
                    "response.output_text.done",
                    with(json!({"content_index": 0, "text": item.text, "logprobs": []})),
                );
            }
            ItemKind::FunctionCall { .. } => {
                self.emit(events, "response.function_call_arguments.done", with(json!({"arguments": item.text})));
            }
            ItemKind::WebSearch { .. } | ItemKind::CodeInterpreter => {}
        }
        if let Some(part) = Self::part(kind, &item.text) {
            self.emit(events, "response.content_part.done", with(json!({"content_index": 0, "part": part})));
        }
        let mut done = kind.item(&item.id, &item.text, true);
        if self.cut_off {
            done["status"] = json!("incomplete");
        }
        self.emit(
            events,
            "response.output_item.done",
            json!({"output_index": item.output_index, "item": done.clone()}),
        );
        self.output.push(done);
    }
}
