//! What a parser reports besides its messages: events and diagnostics.

use std::fmt;

use serde::Serialize;

use super::header::ParsedHeader;
use crate::chat::{Author, Content, Message, Role};

/// One step of the structured event stream of a [`StreamableParser`](super::StreamableParser).
///
/// For every message the parser emits `MessageStarted`, then any number of
/// `ContentDelta`s, then `MessageCompleted`, all with the same `index` (the
/// message's position in `messages`). Events are not queued: a drain reads
/// them off the messages from where the last one stopped, so a parser that
/// is never drained holds nothing for them. The deltas of one message
/// between two drains come as one `ContentDelta` (drained on every token,
/// each is that token's `last_content_delta`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParseEvent {
    /// A header was read; content follows.
    MessageStarted {
        /// Position of the message in `messages`.
        index: usize,
        /// The author's role.
        role: Role,
        /// The author's name (tool messages).
        name: Option<String>,
        /// The channel.
        channel: Option<String>,
        /// The recipient.
        recipient: Option<String>,
        /// The content type.
        content_type: Option<String>,
    },
    /// New content text.
    ContentDelta {
        /// Position of the message in `messages`.
        index: usize,
        /// The text.
        text: String,
    },
    /// A message ended (stop token or end of stream).
    MessageCompleted {
        /// Position of the message in `messages`.
        index: usize,
        /// The whole message.
        message: Message,
    },
}

/// What lenient parsing repaired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticKind {
    /// A token that cannot start a message was skipped between messages
    /// (whitespace, stray text, a repeated stop token, another control token).
    SkippedToken,
    /// A token id outside the vocabulary was skipped.
    InvalidToken,
    /// A message began without `<|start|>` (e.g. `<|end|><|channel|>final…`);
    /// it was read as an assistant message.
    MissingStart,
    /// A repeated `<|start|>` was ignored.
    RepeatedStart,
    /// A header was malformed and was read leniently.
    RepairedHeader,
    /// A header never reached `<|message|>`; what followed it became content.
    UnterminatedHeader,
    /// Text that was neither header nor content was dropped.
    DroppedText,
    /// Tokens after the `<|return|>` or `<|call|>` that ended the turn were
    /// ignored (a server that did not stop on the stop token).
    AfterStop,
}

impl DiagnosticKind {
    /// Every kind, in declaration order.
    pub const ALL: [DiagnosticKind; 8] = [
        DiagnosticKind::SkippedToken,
        DiagnosticKind::InvalidToken,
        DiagnosticKind::MissingStart,
        DiagnosticKind::RepeatedStart,
        DiagnosticKind::RepairedHeader,
        DiagnosticKind::UnterminatedHeader,
        DiagnosticKind::DroppedText,
        DiagnosticKind::AfterStop,
    ];

    /// The kind's name as serialized (`"skipped_token"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticKind::SkippedToken => "skipped_token",
            DiagnosticKind::InvalidToken => "invalid_token",
            DiagnosticKind::MissingStart => "missing_start",
            DiagnosticKind::RepeatedStart => "repeated_start",
            DiagnosticKind::RepairedHeader => "repaired_header",
            DiagnosticKind::UnterminatedHeader => "unterminated_header",
            DiagnosticKind::DroppedText => "dropped_text",
            DiagnosticKind::AfterStop => "after_stop",
        }
    }

    /// The kind's position in [`ALL`](Self::ALL).
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for DiagnosticKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One repair made by a lenient parser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Index (in the parser's `tokens`) of the token at which the repair was made.
    pub position: usize,
    /// What kind of repair.
    pub kind: DiagnosticKind,
    /// A sentence for humans.
    pub detail: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token {}: {}", self.position, self.detail)
    }
}

/// How far the caller has drained the event stream.
///
/// Events are not queued: they are read off the parser's messages and the
/// message in progress when drained, from this cursor on. A parser that is
/// never drained (code written for the reference, which has no events)
/// therefore holds nothing for them, and one drained on every token gets the
/// same events as a queue would give. This works because the events are a
/// function of the text: for every message, `MessageStarted` (its header),
/// the content text as `ContentDelta`s (append-only), then
/// `MessageCompleted` (the message as it is in `messages`). A queue would
/// merge the deltas of one message between two drains, so what a drain
/// returns for a message is: its `MessageStarted` if not drained before, the
/// text added since the last drain as one `ContentDelta` (if any), and its
/// `MessageCompleted` if it was completed since.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct EventCursor {
    /// The first message not completely drained (`messages.len()` when all are).
    pub(crate) message: usize,
    /// Whether that message's `MessageStarted` was drained.
    pub(crate) started: bool,
    /// Bytes of that message's text already drained.
    pub(crate) offset: usize,
}

/// The events of `messages` and of the message in progress (its header
/// and text so far) after `cursor`, and the cursor after them.
pub(crate) fn events_after(
    messages: &[Message],
    in_progress: Option<(&ParsedHeader, &str)>,
    cursor: EventCursor,
) -> (Vec<ParseEvent>, EventCursor) {
    let mut events = Vec::new();
    let delta = |events: &mut Vec<ParseEvent>, index: usize, text: &str| {
        let drained = if index == cursor.message { cursor.offset } else { 0 };
        if let Some(new) = text.get(drained..).filter(|t| !t.is_empty()) {
            events.push(ParseEvent::ContentDelta { index, text: new.to_string() });
        }
    };
    let completed = messages.get(cursor.message..).unwrap_or_default();
    for (index, message) in (cursor.message..).zip(completed) {
        if !(index == cursor.message && cursor.started) {
            events.push(started(index, &message.author, &message.channel, &message.recipient, &message.content_type));
        }
        delta(&mut events, index, message_text(message));
        events.push(ParseEvent::MessageCompleted { index, message: message.clone() });
    }
    let index = messages.len();
    let next = match in_progress {
        Some((header, text)) => {
            if !(index == cursor.message && cursor.started) {
                events.push(started(index, &header.author, &header.channel, &header.recipient, &header.content_type));
            }
            delta(&mut events, index, text);
            EventCursor { message: index, started: true, offset: text.len() }
        }
        None => EventCursor { message: index, started: false, offset: 0 },
    };
    (events, next)
}

/// The text of a message the parser made (one text item).
fn message_text(message: &Message) -> &str {
    match message.content.first() {
        Some(Content::Text(t)) => &t.text,
        _ => "",
    }
}

/// A message's `MessageStarted`.
pub(crate) fn started(
    index: usize,
    author: &Author,
    channel: &Option<String>,
    recipient: &Option<String>,
    content_type: &Option<String>,
) -> ParseEvent {
    ParseEvent::MessageStarted {
        index,
        role: author.role,
        name: author.name.clone(),
        channel: channel.clone(),
        recipient: recipient.clone(),
        content_type: content_type.clone(),
    }
}
