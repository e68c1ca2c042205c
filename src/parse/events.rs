//! What a parser reports besides its messages: events and diagnostics.

use std::fmt;

use serde::Serialize;

use crate::chat::{Message, Role};

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
