//! The token-by-token parser.

use std::fmt;

use serde::Serialize;

use super::events::{Diagnostic, DiagnosticKind, ParseEvent};
use super::header::{self, ParsedHeader};
use super::utf8::Utf8Decoder;
use crate::chat::{Message, Role};
use crate::encoding::{FormattingToken, HarmonyEncoding};
use crate::error::{HarmonyError, Result};
use crate::tokenizer::Rank;

const START: Rank = FormattingToken::Start.rank();
const MESSAGE: Rank = FormattingToken::Message.rank();
const CHANNEL: Rank = FormattingToken::Channel.rank();

fn is_stop(token: Rank) -> bool {
    token == FormattingToken::End.rank()
        || token == FormattingToken::Return.rank()
        || token == FormattingToken::Call.rank()
}

/// Where a parser is in the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum StreamState {
    /// Between messages, waiting for `<|start|>`.
    ExpectStart,
    /// Reading a header, waiting for `<|message|>`.
    Header,
    /// Reading content, waiting for a stop token.
    Content,
}

impl StreamState {
    /// The state's name (`"ExpectStart"`, `"Header"`, `"Content"`).
    pub fn as_str(&self) -> &'static str {
        match self {
            StreamState::ExpectStart => "ExpectStart",
            StreamState::Header => "Header",
            StreamState::Content => "Content",
        }
    }
}

impl fmt::Display for StreamState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A serializable snapshot of the parser's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state")]
pub enum StreamStateData {
    /// Between messages.
    ExpectStart,
    /// In a header.
    Header {
        /// The header's tokens so far.
        header_tokens: Vec<Rank>,
    },
    /// In content.
    Content {
        /// The message's header.
        header: ParsedHeader,
        /// The content decoded so far, each delta (`last_content_delta`)
        /// encoded again as ordinary text, as the reference reports it:
        /// special-token text and repaired bytes show as text, tokens after
        /// an unknown id are not there.
        content_tokens: Vec<Rank>,
    },
}

/// What ended a header that never got its `<|message|>` (lenient mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderEnd {
    Stop,
    Start,
    Eos,
}

impl fmt::Display for HeaderEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeaderEnd::Stop => "a stop token",
            HeaderEnd::Start => "<|start|>",
            HeaderEnd::Eos => "the end of the stream",
        })
    }
}

#[derive(Debug, Clone)]
enum State {
    ExpectStart,
    Header {
        tokens: Vec<Rank>,
        /// Opened by `<|start|>` or by the caller's role, not inferred by a lenient repair.
        explicit: bool,
    },
    Content {
        header: ParsedHeader,
        text: String,
        decoder: Utf8Decoder,
        /// Where each content delta ends in `text` (for `state_data`).
        delta_ends: Vec<usize>,
    },
}

/// Parses completion tokens into messages, one token at a time.
///
/// In strict mode (the default) the parser accepts what the reference
/// accepts, fails with the reference's error messages, and goes on after an
/// error exactly as the reference does, so callers that catch the error and
/// keep feeding tokens see the same states and messages: the token is
/// recorded; between messages the parser keeps waiting for `<|start|>`; a
/// header that fails at `<|message|>` is dropped and the parser waits for the
/// next `<|start|>` (keeping the role it was given). Unknown token ids are
/// no error: in a header they fail it at `<|message|>` ("could not decode
/// header"), in content they end the decoding of that message (it closes
/// with one U+FFFD).
///
/// In lenient mode ([`strict(false)`](Self::strict)) it never fails. It
/// repairs the malformed output models produce and records each repair in
/// [`diagnostics`](Self::diagnostics).
///
/// ```
/// use openai_harmony::{load_harmony_encoding, HarmonyEncodingName, StreamableParser};
/// use openai_harmony::chat::Role;
///
/// let enc = load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss)?;
/// let tokens = enc.encode_with_special_tokens("<|channel|>final<|message|>Hi!<|return|>");
/// let mut parser = StreamableParser::new(enc, Some(Role::Assistant));
/// for t in tokens {
///     parser.process(t)?;
/// }
/// assert_eq!(parser.messages()[0].channel.as_deref(), Some("final"));
/// # Ok::<(), openai_harmony::HarmonyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct StreamableParser {
    encoding: HarmonyEncoding,
    initial_role: Option<Role>,
    next_role: Option<Role>,
    strict: bool,
    tokens: Vec<Rank>,
    messages: Vec<Message>,
    state: State,
    last_content_delta: Option<String>,
    events: Vec<ParseEvent>,
    diagnostics: Vec<Diagnostic>,
}

impl StreamableParser {
    /// A strict parser. With `role`, the completion starts inside the header
    /// of a message by that role (the prompt ended with `<|start|>assistant`);
    /// without, it starts with `<|start|>`.
    pub fn new(encoding: HarmonyEncoding, role: Option<Role>) -> Self {
        StreamableParser {
            encoding,
            initial_role: role,
            next_role: role,
            strict: true,
            tokens: Vec::new(),
            messages: Vec::new(),
            state: Self::initial_state(role),
            last_content_delta: None,
            events: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    /// Sets strict (`true`, the default) or lenient (`false`) mode.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    fn initial_state(role: Option<Role>) -> State {
        match role {
            Some(_) => State::Header { tokens: Vec::new(), explicit: true },
            None => State::ExpectStart,
        }
    }

    /// Forgets everything and starts over as if newly created (same role
    /// and mode), keeping allocations for the next request.
    pub fn reset(&mut self) {
        self.next_role = self.initial_role;
        self.tokens.clear();
        self.messages.clear();
        self.state = Self::initial_state(self.initial_role);
        self.last_content_delta = None;
        self.events.clear();
        self.diagnostics.clear();
    }

    /// Feeds one token.
    pub fn process(&mut self, token: Rank) -> Result<&mut Self> {
        let position = self.tokens.len();
        match &mut self.state {
            State::ExpectStart => {
                if token == START {
                    self.state = State::Header { tokens: Vec::new(), explicit: true };
                } else if self.strict {
                    self.tokens.push(token);
                    return Err(HarmonyError::UnexpectedToken { token, expected: START });
                } else {
                    self.between_messages(token, position);
                }
            }
            State::Header { tokens, explicit } => {
                if token == MESSAGE && self.strict {
                    // As in the reference, a header that fails is dropped: the
                    // parser waits for the next `<|start|>`, keeping the role
                    // the caller gave, and the token is recorded either way.
                    let header = strict_header(&self.encoding, tokens, self.next_role);
                    self.tokens.push(token);
                    match header {
                        Ok(header) => self.begin_content(header),
                        Err(e) => {
                            self.state = State::ExpectStart;
                            return Err(e);
                        }
                    }
                    return Ok(self);
                } else if token == MESSAGE {
                    let text = self.encoding.tokenizer().decode_lossy(tokens);
                    let mut repairs = Vec::new();
                    if text.contains(char::REPLACEMENT_CHARACTER) {
                        repairs.push("header bytes that are not UTF-8 read as U+FFFD".to_string());
                    }
                    let header = header::parse_lenient(&text, self.next_role, &mut repairs);
                    self.note_all(position, DiagnosticKind::RepairedHeader, repairs);
                    self.begin_content(header);
                } else if self.strict {
                    // Any id, even a stop token or one outside the vocabulary,
                    // is part of the header until `<|message|>` reads it.
                    tokens.push(token);
                } else if is_stop(token) {
                    self.recover_unterminated(position, HeaderEnd::Stop);
                } else if token == START {
                    if self.encoding.tokenizer().decode_lossy(tokens).trim().is_empty() {
                        *explicit = true;
                        self.note(position, DiagnosticKind::RepeatedStart, "repeated <|start|> ignored".into());
                    } else {
                        self.recover_unterminated(position, HeaderEnd::Start);
                        self.state = State::Header { tokens: Vec::new(), explicit: true };
                    }
                } else if self.encoding.tokenizer().token_bytes(token).is_none() {
                    self.note(position, DiagnosticKind::InvalidToken, format!("unknown token id {token} skipped"));
                } else {
                    tokens.push(token);
                }
            }
            State::Content { text, decoder, delta_ends, .. } => {
                if is_stop(token) {
                    self.finish_message();
                } else {
                    let bytes = self.encoding.tokenizer().token_bytes(token);
                    if bytes.is_some() || self.strict {
                        // Strict, like the reference: an unknown id is no
                        // error, but nothing after it in the message decodes.
                        let start = text.len();
                        decoder.push(bytes, text);
                        let delta = &text[start..];
                        self.last_content_delta = (!delta.is_empty()).then(|| delta.to_string());
                        if !delta.is_empty() {
                            delta_ends.push(text.len());
                            let index = self.messages.len();
                            push_delta(&mut self.events, index, delta);
                        }
                    } else {
                        self.last_content_delta = None;
                        self.note(position, DiagnosticKind::InvalidToken, format!("unknown token id {token} skipped"));
                    }
                }
            }
        }
        self.tokens.push(token);
        Ok(self)
    }

    /// Ends the stream: a message in progress is completed. In strict mode
    /// an unfinished header is an error; in lenient mode what follows it is
    /// kept as content.
    pub fn process_eos(&mut self) -> Result<&mut Self> {
        match &self.state {
            State::ExpectStart => {}
            State::Header { .. } if self.strict => return Err(HarmonyError::UnexpectedEosInHeader),
            State::Header { .. } => self.recover_unterminated(self.tokens.len(), HeaderEnd::Eos),
            State::Content { .. } => self.finish_message(),
        }
        Ok(self)
    }

    /// Lenient handling of a token other than `<|start|>` between messages.
    fn between_messages(&mut self, token: Rank, position: usize) {
        let tokenizer = self.encoding.tokenizer();
        let (kind, detail) = if is_stop(token) {
            (DiagnosticKind::SkippedToken, "stop token between messages skipped".to_string())
        } else if token == CHANNEL {
            self.next_role = Some(Role::Assistant);
            self.state = State::Header { tokens: vec![token], explicit: false };
            (DiagnosticKind::MissingStart, "<|channel|> without <|start|>: read as an assistant message".into())
        } else if token == MESSAGE {
            self.begin_content(ParsedHeader::for_role(Role::Assistant));
            (DiagnosticKind::MissingStart, "<|message|> without a header: read as an assistant message".into())
        } else if tokenizer.is_special_token(token) {
            let name = tokenizer.special_token_name(token).unwrap_or("?");
            (DiagnosticKind::SkippedToken, format!("{name} between messages skipped"))
        } else {
            match tokenizer.token_bytes(token) {
                None => (DiagnosticKind::InvalidToken, format!("unknown token id {token} skipped")),
                Some(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => {
                    (DiagnosticKind::SkippedToken, "whitespace between messages skipped".into())
                }
                Some(_) => {
                    self.next_role = Some(Role::Assistant);
                    self.state = State::Header { tokens: vec![token], explicit: false };
                    (DiagnosticKind::MissingStart, "text without <|start|>: read as an assistant message".into())
                }
            }
        };
        self.note(position, kind, detail);
    }

    fn begin_content(&mut self, header: ParsedHeader) {
        self.next_role = None;
        self.last_content_delta = None;
        self.events.push(ParseEvent::MessageStarted {
            index: self.messages.len(),
            role: header.author.role,
            name: header.author.name.clone(),
            channel: header.channel.clone(),
            recipient: header.recipient.clone(),
            content_type: header.content_type.clone(),
        });
        self.state =
            State::Content { header, text: String::new(), decoder: Utf8Decoder::default(), delta_ends: Vec::new() };
    }

    fn finish_message(&mut self) {
        if let State::Content { header, mut text, mut decoder, .. } =
            std::mem::replace(&mut self.state, State::ExpectStart)
        {
            let before = text.len();
            decoder.finish(&mut text);
            if text.len() > before {
                let index = self.messages.len();
                push_delta(&mut self.events, index, &text[before..]);
            }
            let message = Message {
                author: header.author,
                recipient: header.recipient,
                content: vec![text.into()],
                channel: header.channel,
                content_type: header.content_type,
            };
            self.events.push(ParseEvent::MessageCompleted { index: self.messages.len(), message: message.clone() });
            self.messages.push(message);
        }
        self.last_content_delta = None;
    }

    /// Lenient: a header ended (stop token, `<|start|>` or end of stream)
    /// before `<|message|>`. What follows the header words is its content.
    fn recover_unterminated(&mut self, position: usize, ended_by: HeaderEnd) {
        let State::Header { tokens, explicit } = std::mem::replace(&mut self.state, State::ExpectStart) else {
            return;
        };
        let text = self.encoding.tokenizer().decode_lossy(&tokens);
        let role = self.next_role.take();
        if text.trim().is_empty() {
            if explicit {
                self.note(position, DiagnosticKind::DroppedText, format!("empty header ended by {ended_by} dropped"));
            }
            return;
        }
        if !explicit && ended_by == HeaderEnd::Start {
            self.note(position, DiagnosticKind::DroppedText, format!("stray text {text:?} before <|start|> dropped"));
            return;
        }
        let mut repairs = Vec::new();
        let (header, body) = header::split_unterminated(&text, role, &mut repairs);
        self.note_all(position, DiagnosticKind::RepairedHeader, repairs);
        if body.is_empty() {
            self.note(
                position,
                DiagnosticKind::DroppedText,
                format!("header {text:?} ended by {ended_by} with no content"),
            );
            return;
        }
        self.note(
            position,
            DiagnosticKind::UnterminatedHeader,
            format!("header ended by {ended_by} without <|message|>; the text after it was read as content"),
        );
        self.begin_content(header);
        if let State::Content { text, .. } = &mut self.state {
            text.push_str(&body);
        }
        push_delta(&mut self.events, self.messages.len(), &body);
        self.finish_message();
    }

    fn note(&mut self, position: usize, kind: DiagnosticKind, detail: String) {
        self.diagnostics.push(Diagnostic { position, kind, detail });
    }

    fn note_all(&mut self, position: usize, kind: DiagnosticKind, details: Vec<String>) {
        for detail in details {
            self.note(position, kind, detail);
        }
    }

    /// Whether the parser is strict.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// The encoding the parser decodes with.
    pub fn encoding(&self) -> &HarmonyEncoding {
        &self.encoding
    }

    /// The completed messages.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Takes the completed messages out of the parser (leaving it empty).
    pub fn into_messages(self) -> Vec<Message> {
        self.messages
    }

    /// Every token processed so far (including tokens a lenient parser skipped).
    pub fn tokens(&self) -> &[Rank] {
        &self.tokens
    }

    /// Where the parser is in the grammar.
    pub fn state(&self) -> StreamState {
        match self.state {
            State::ExpectStart => StreamState::ExpectStart,
            State::Header { .. } => StreamState::Header,
            State::Content { .. } => StreamState::Content,
        }
    }

    /// A serializable snapshot of the state.
    pub fn state_data(&self) -> StreamStateData {
        match &self.state {
            State::ExpectStart => StreamStateData::ExpectStart,
            State::Header { tokens, .. } => StreamStateData::Header { header_tokens: tokens.clone() },
            State::Content { header, text, delta_ends, .. } => StreamStateData::Content {
                header: header.clone(),
                content_tokens: reencoded_deltas(self.encoding.tokenizer(), text, delta_ends),
            },
        }
    }

    /// The text of the last content token, `None` if it completed no character.
    pub fn last_content_delta(&self) -> Option<&str> {
        self.last_content_delta.as_deref()
    }

    /// The content of the message being read (`""` outside content).
    pub fn current_content(&self) -> &str {
        match &self.state {
            State::Content { text, .. } => text,
            _ => "",
        }
    }

    /// The role of the message being read, or of the next one if known.
    pub fn current_role(&self) -> Option<Role> {
        match &self.state {
            State::Content { header, .. } => Some(header.author.role),
            _ => self.next_role,
        }
    }

    fn current_header(&self) -> Option<&ParsedHeader> {
        match &self.state {
            State::Content { header, .. } => Some(header),
            _ => None,
        }
    }

    /// The channel of the message being read.
    pub fn current_channel(&self) -> Option<&str> {
        self.current_header().and_then(|h| h.channel.as_deref())
    }

    /// The recipient of the message being read.
    pub fn current_recipient(&self) -> Option<&str> {
        self.current_header().and_then(|h| h.recipient.as_deref())
    }

    /// The content type of the message being read.
    pub fn current_content_type(&self) -> Option<&str> {
        self.current_header().and_then(|h| h.content_type.as_deref())
    }

    /// The header of the message being read, once `<|message|>` has arrived.
    pub fn current_parsed_header(&self) -> Option<&ParsedHeader> {
        self.current_header()
    }

    /// Events queued since the last drain.
    pub fn events(&self) -> &[ParseEvent] {
        &self.events
    }

    /// Takes the queued events.
    pub fn drain_events(&mut self) -> Vec<ParseEvent> {
        std::mem::take(&mut self.events)
    }

    /// The repairs a lenient parser made, in token order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

/// Each content delta encoded again as ordinary text, one after the other.
fn reencoded_deltas(tokenizer: &crate::tokenizer::Tokenizer, text: &str, ends: &[usize]) -> Vec<Rank> {
    let mut tokens = Vec::new();
    let mut start = 0;
    for &end in ends {
        tokens.extend(tokenizer.encode_ordinary(text.get(start..end).unwrap_or_default()));
        start = end;
    }
    tokens
}

/// Strict: the header's text (exact UTF-8 of known ids) read as the reference reads it.
fn strict_header(encoding: &HarmonyEncoding, tokens: &[Rank], role: Option<Role>) -> Result<ParsedHeader> {
    let tokenizer = encoding.tokenizer();
    let mut bytes = Vec::new();
    for &t in tokens {
        bytes.extend_from_slice(tokenizer.token_bytes(t).ok_or(HarmonyError::UndecodableHeader)?);
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| HarmonyError::UndecodableHeader)?;
    header::parse_strict(text, role)
}

/// Queues a content delta, merged into the previous one when it belongs to
/// the same message.
fn push_delta(events: &mut Vec<ParseEvent>, index: usize, delta: &str) {
    if let Some(ParseEvent::ContentDelta { index: last, text }) = events.last_mut() {
        if *last == index {
            text.push_str(delta);
            return;
        }
    }
    events.push(ParseEvent::ContentDelta { index, text: delta.to_string() });
}
