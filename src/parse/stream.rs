//! The token-by-token parser.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use super::events::{events_after, Diagnostic, DiagnosticKind, EventCursor, ParseEvent};
use super::header::{self, strict_header, ParsedHeader};
use super::tools::DeclaredTools;
use super::utf8::Utf8Decoder;
use crate::chat::{Content, Message, Role};
use crate::encoding::{FormattingToken, HarmonyEncoding};
use crate::error::{HarmonyError, Result};
use crate::tokenizer::{Rank, TokenId};

mod snapshot;
pub use snapshot::ParserSnapshot;

const START: Rank = FormattingToken::Start.rank();
const MESSAGE: Rank = FormattingToken::Message.rank();
const CHANNEL: Rank = FormattingToken::Channel.rank();
/// Lenient: a header of more tokens than this is not checked for running
/// into its content (each check decodes the header, so this bounds the cost
/// a token; real headers are a few tokens).
const RUN_ON_TOKENS: usize = 64;

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
    Stop(Rank),
    Start,
    Eos,
}

impl fmt::Display for HeaderEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeaderEnd::Stop(_) => "a stop token",
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
        /// Lenient: how many leading tokens are known to decode to whitespace
        /// (whole characters), so that a run of `<|start|>`s in a blank
        /// header does not decode it again each time.
        blank: usize,
    },
    Content {
        header: ParsedHeader,
        text: String,
        decoder: Utf8Decoder,
        /// Index in `tokens` of the message's first content token: `state_data`
        /// replays the content tokens from there to find the deltas, rather
        /// than keeping every delta's end (8 bytes a token, for as long as
        /// the message lasts).
        first_token: usize,
        /// The last token's delta, `text[start..]` (`None`: it completed no character).
        last_delta: Option<usize>,
        /// Lenient: bytes at the start of `text` that came from a header
        /// that ran into its content (not from the tokens after `first_token`).
        lead: usize,
        /// Lenient: the header gave no channel and one was guessed; the stop
        /// token may correct it (`<|return|>`: final; `<|call|>`: commentary).
        guessed: bool,
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
    events: EventCursor,
    diagnostics: Vec<Diagnostic>,
    /// How many tokens had been fed at each successful end of stream.
    ends: Vec<usize>,
    /// The recipients the prompt declared (`functions.get_weather`, …), which
    /// a lenient header repair maps a damaged recipient to.
    tools: Arc<DeclaredTools>,
    /// Lenient: the turn ended (`<|return|>`, or `<|call|>` in a completion
    /// opened with a role); the tokens after it until the end of the stream
    /// are ignored.
    turn_over: bool,
    /// Lenient: a message recovered from a header that a stop token ended
    /// without `<|message|>` is kept open until the next token (or the end of
    /// the stream), so that a streaming reader sees its text as the stop
    /// token's delta; this is that stop token.
    pending_stop: Option<Rank>,
    /// Lenient: the last token was skipped (junk between messages) or
    /// ignored (after the turn ended). [`state`](Self::state) then reports
    /// `Header`, not `ExpectStart`: nothing ended at that token, and servers
    /// that close an output item whenever they see `ExpectStart` must not
    /// close the last one again.
    quiet: bool,
    /// See [`server_repairs`](Self::server_repairs).
    server_repairs: bool,
    /// Whether repairs are counted in the process-wide counters (not while
    /// a snapshot is replayed: those repairs were counted when first made).
    counting: bool,
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
            events: EventCursor::default(),
            diagnostics: Vec::new(),
            ends: Vec::new(),
            tools: DeclaredTools::none(),
            turn_over: false,
            pending_stop: None,
            quiet: false,
            server_repairs: false,
            counting: true,
        }
    }

    /// Lenient, in a completion: also makes the repairs that servers need
    /// beyond the reference's lenient reading, which its own tests pin:
    ///
    /// - a first message of plain text with no header
    ///   (`I must refuse.<|end|>…`) is reasoning, channel `analysis` (gpt-oss
    ///   always reasons first), not a message with no channel, which servers
    ///   reject;
    /// - a recipient with no namespace that is no built-in tool or role
    ///   (`to=ask_followup_question`) is a function, `functions.…` (servers
    ///   route only `functions.*` to the client);
    /// - `json` or `code` glued to a function's name (`to=functions.shelljson`)
    ///   is the content type.
    ///
    /// Off by default. The process-wide lenient mode of the Python package
    /// and the interop streams turn it on.
    pub fn server_repairs(mut self, on: bool) -> Self {
        self.server_repairs = on;
        self
    }

    /// Declares the recipients the prompt offered (`functions.get_weather`,
    /// `browser.search`, …). Lenient mode maps a damaged recipient to one of
    /// them: `to=functions.Get Weather` (a space in the name) or
    /// `to=functions.GetWeather` becomes `functions.get_weather` when exactly
    /// one declared name matches it ignoring case, spaces, `_` and `-`.
    /// Without declared names such a recipient keeps all its words.
    pub fn with_tools<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names: Vec<String> = tools.into_iter().map(Into::into).collect();
        self.tools = if names.is_empty() { DeclaredTools::none() } else { Arc::new(DeclaredTools::new(names)) };
        self
    }

    /// The recipients declared with [`with_tools`](Self::with_tools).
    pub fn tools(&self) -> &[String] {
        self.tools.names()
    }

    /// Sets strict (`true`, the default) or lenient (`false`) mode.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    fn initial_state(role: Option<Role>) -> State {
        match role {
            Some(_) => State::Header { tokens: Vec::new(), explicit: true, blank: 0 },
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
        self.events = EventCursor::default();
        self.diagnostics.clear();
        self.ends.clear();
        self.turn_over = false;
        self.pending_stop = None;
        self.quiet = false;
    }

    /// Feeds one token.
    pub fn process(&mut self, token: Rank) -> Result<&mut Self> {
        // The common case first, kept small: a content token of a message.
        if self.pending_stop.is_none() && !is_stop(token) {
            if let State::Content { text, decoder, last_delta, .. } = &mut self.state {
                if let Some(bytes) = self.encoding.tokenizer().token_bytes(token) {
                    let start = text.len();
                    decoder.push(Some(bytes), text);
                    *last_delta = (text.len() > start).then_some(start);
                    self.tokens.push(token);
                    return Ok(self);
                }
            }
        }
        self.process_other(token)
    }

    /// Feeds a token id as a caller holds it. One no [`Rank`] can hold
    /// (`-1`, `2**40`) is, in strict mode, an error naming it (the parser is
    /// unchanged); in lenient mode it is skipped as an id outside the
    /// vocabulary is, with an `invalid_token` diagnostic naming it. It keeps
    /// its position: `tokens()` holds `Rank::MAX`, in no vocabulary, in its
    /// place.
    pub fn process_id(&mut self, id: &TokenId) -> Result<&mut Self> {
        let text = match id {
            TokenId::Rank(token) => return self.process(*token),
            TokenId::OutOfRange(text) => text,
        };
        if self.strict {
            return Err(HarmonyError::TokenOutOfRange(text.clone()));
        }
        let before = self.diagnostics.len();
        self.process(Rank::MAX)?;
        let placeholder = format!("unknown token id {} skipped", Rank::MAX);
        for d in self.diagnostics.iter_mut().skip(before) {
            if d.detail == placeholder {
                d.detail = format!("unknown token id {text} skipped");
            }
        }
        Ok(self)
    }

    /// Every other token: formatting tokens, headers, repairs.
    #[inline(never)]
    fn process_other(&mut self, token: Rank) -> Result<&mut Self> {
        let position = self.tokens.len();
        if !self.strict {
            // (Strict parsers never set these.)
            self.close_pending();
            self.quiet = false;
            if self.turn_over {
                self.after_stop(token, position);
                self.tokens.push(token);
                return Ok(self);
            }
        }
        match &mut self.state {
            State::ExpectStart => {
                if token == START {
                    self.state = State::Header { tokens: Vec::new(), explicit: true, blank: 0 };
                } else if self.strict {
                    self.tokens.push(token);
                    return Err(HarmonyError::UnexpectedToken { token, expected: START });
                } else {
                    self.between_messages(token, position);
                }
            }
            State::Header { tokens, explicit, blank } => {
                if token == MESSAGE && self.strict {
                    // As in the reference, a header that fails is dropped: the
                    // parser waits for the next `<|start|>`, keeping the role
                    // the caller gave, and the token is recorded either way.
                    let header = strict_header(&self.encoding, tokens, self.next_role);
                    self.tokens.push(token);
                    match header {
                        Ok(header) => self.begin_content(header, position + 1),
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
                    let mut header = header::parse_lenient(&text, self.next_role, &self.lenient(), &mut repairs);
                    // `<|channel|><|message|>`: the channel is missing, not absent.
                    let guessed = text.contains(header::CHANNEL_MARKER) && self.guess_channel(&mut header, "");
                    self.note_all(position, DiagnosticKind::RepairedHeader, repairs);
                    self.begin_content(header, position + 1);
                    self.set_repaired("", guessed);
                } else if self.strict {
                    // Any id, even a stop token or one outside the vocabulary,
                    // is part of the header until `<|message|>` reads it.
                    tokens.push(token);
                } else if is_stop(token) {
                    self.recover_unterminated(position, HeaderEnd::Stop(token));
                    if self.pending_stop.is_none() {
                        self.turn_over = self.ends_turn(token);
                    }
                } else if token == START {
                    // The tokens before `blank` decode to whole whitespace
                    // characters, so the header is blank iff the rest is.
                    let rest = tokens.get(*blank..).unwrap_or_default();
                    if self.encoding.tokenizer().decode_lossy(rest).trim().is_empty() {
                        *blank = tokens.len();
                        *explicit = true;
                        self.note(position, DiagnosticKind::RepeatedStart, "repeated <|start|> ignored".into());
                    } else {
                        self.recover_unterminated(position, HeaderEnd::Start);
                        self.state = State::Header { tokens: Vec::new(), explicit: true, blank: 0 };
                    }
                } else if self.encoding.tokenizer().token_bytes(token).is_none() {
                    self.note(position, DiagnosticKind::InvalidToken, format!("unknown token id {token} skipped"));
                } else {
                    tokens.push(token);
                    if tokens.len() <= RUN_ON_TOKENS {
                        self.check_run_on(position);
                    }
                }
            }
            State::Content { text, decoder, last_delta, .. } => {
                if is_stop(token) {
                    self.finish_message(Some(token));
                    self.turn_over = !self.strict && self.ends_turn(token);
                } else {
                    let bytes = self.encoding.tokenizer().token_bytes(token);
                    if content_decodes(bytes, self.strict) {
                        // Strict, like the reference: an unknown id is no
                        // error, but nothing after it in the message decodes.
                        let start = text.len();
                        decoder.push(bytes, text);
                        *last_delta = (text.len() > start).then_some(start);
                    } else {
                        *last_delta = None;
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
        self.close_pending();
        match &self.state {
            State::ExpectStart => {}
            State::Header { .. } if self.strict => return Err(HarmonyError::UnexpectedEosInHeader),
            State::Header { .. } => self.recover_unterminated(self.tokens.len(), HeaderEnd::Eos),
            State::Content { .. } => self.finish_message(None),
        }
        self.turn_over = false;
        self.ends.push(self.tokens.len());
        Ok(self)
    }

    /// Whether a stop token ends the assistant's turn, so that nothing after
    /// it is part of this completion: `<|return|>` always; `<|call|>` when
    /// the parser reads a completion (opened with a role), where what follows
    /// a call can only be a tool's result the model made up because the
    /// server did not stop. (Without a role the tokens may be a whole
    /// conversation, where a tool's real result follows the call.)
    fn ends_turn(&self, token: Rank) -> bool {
        token == FormattingToken::Return.rank()
            || (token == FormattingToken::Call.rank() && self.initial_role.is_some())
    }

    /// Lenient: a token after the end of the turn. Noted once, at the first.
    fn after_stop(&mut self, token: Rank, position: usize) {
        self.quiet = true;
        let first = self.diagnostics.last().is_none_or(|d| d.kind != DiagnosticKind::AfterStop);
        if first {
            let stop = self.tokens.last().and_then(|&t| self.encoding.tokenizer().special_token_name(t)).unwrap_or("?");
            let what = self.encoding.tokenizer().decode_lossy(&[token]);
            self.note(
                position,
                DiagnosticKind::AfterStop,
                format!("tokens after {stop} ignored until the end of the stream (from {what:?})"),
            );
        }
    }

    /// Lenient handling of a token other than `<|start|>` between messages.
    fn between_messages(&mut self, token: Rank, position: usize) {
        let tokenizer = self.encoding.tokenizer();
        let (kind, detail) = if is_stop(token) {
            (DiagnosticKind::SkippedToken, "stop token between messages skipped".to_string())
        } else if token == CHANNEL {
            self.next_role = Some(Role::Assistant);
            self.state = State::Header { tokens: vec![token], explicit: false, blank: 0 };
            (DiagnosticKind::MissingStart, "<|channel|> without <|start|>: read as an assistant message".into())
        } else if token == MESSAGE {
            self.begin_content(ParsedHeader::for_role(Role::Assistant), position + 1);
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
                    self.state = State::Header { tokens: vec![token], explicit: false, blank: 0 };
                    (DiagnosticKind::MissingStart, "text without <|start|>: read as an assistant message".into())
                }
            }
        };
        self.quiet = matches!(kind, DiagnosticKind::SkippedToken | DiagnosticKind::InvalidToken);
        self.note(position, kind, detail);
    }

    /// Starts a message's content, whose first token will be `tokens[first_token]`.
    fn begin_content(&mut self, header: ParsedHeader, first_token: usize) {
        self.next_role = None;
        self.state = State::Content {
            header,
            text: String::new(),
            decoder: Utf8Decoder::default(),
            first_token,
            last_delta: None,
            lead: 0,
            guessed: false,
        };
    }

    /// Lenient: the content begins with `lead` (text a header ran into), as
    /// this token's delta; `guessed`: the channel was guessed.
    fn set_repaired(&mut self, lead_text: &str, was_guessed: bool) {
        if let State::Content { text, last_delta, lead, guessed, .. } = &mut self.state {
            text.push_str(lead_text);
            *lead = lead_text.len();
            *last_delta = (!lead_text.is_empty()).then_some(0);
            *guessed = was_guessed;
        }
    }

    /// What lenient header reading knows besides the text.
    fn lenient(&self) -> header::Lenient<'_> {
        header::Lenient { tools: &self.tools, completion: self.initial_role.is_some(), server: self.server_repairs }
    }

    /// Lenient, in a completion: an assistant message whose header named
    /// no channel (a missing or empty `<|channel|>`, or no header at all).
    /// After other messages it is the answer (`final`); as the first
    /// message, the answer if its text starts like JSON (a structured
    /// answer), else no channel (as the reference reads a refusal with no
    /// header, and its own tests require). Returns whether the stop token
    /// may still set it (`<|return|>`: final; `<|call|>`: commentary).
    fn guess_channel(&mut self, header: &mut ParsedHeader, text: &str) -> bool {
        let applies = self.initial_role.is_some()
            && header.channel.is_none()
            && header.recipient.is_none()
            && header.author.role == Role::Assistant;
        if !applies {
            return false;
        }
        let json = text.trim_start().starts_with(['{', '[']);
        if !self.messages.is_empty() || json {
            header.channel = Some("final".to_string());
        } else if self.server_repairs {
            header.channel = Some("analysis".to_string());
        }
        true
    }

    fn finish_message(&mut self, stop: Option<Rank>) {
        if let State::Content { mut header, mut text, mut decoder, guessed, .. } =
            std::mem::replace(&mut self.state, State::ExpectStart)
        {
            if guessed {
                if stop == Some(FormattingToken::Return.rank()) {
                    header.channel = Some("final".into());
                } else if stop == Some(FormattingToken::Call.rank()) {
                    header.channel = Some("commentary".into());
                }
            }
            decoder.finish(&mut text);
            // The text grew by doubling; a finished message keeps only what it needs.
            text.shrink_to_fit();
            self.messages.push(Message {
                author: header.author,
                recipient: header.recipient,
                content: vec![text.into()],
                channel: header.channel,
                content_type: header.content_type,
            });
        }
    }

    /// Lenient: a header ended (stop token, `<|start|>` or end of stream)
    /// before `<|message|>`. What follows the header words is its content.
    fn recover_unterminated(&mut self, position: usize, ended_by: HeaderEnd) {
        let State::Header { tokens, explicit, .. } = std::mem::replace(&mut self.state, State::ExpectStart) else {
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
        let (mut header, body) = header::split_unterminated(&text, role, &self.lenient(), &mut repairs);
        self.note_all(position, DiagnosticKind::RepairedHeader, repairs);
        if body.is_empty() {
            self.note(
                position,
                DiagnosticKind::DroppedText,
                format!("header {text:?} ended by {ended_by} with no content"),
            );
            return;
        }
        // `<|channel|>commentary 2?<|end|>`: a few marks that are no
        // message, before the model starts over.
        let noise = !body.chars().any(char::is_alphabetic) && body.trim().chars().count() <= 3;
        if noise
            && ended_by == HeaderEnd::Stop(FormattingToken::End.rank())
            && header.channel.as_deref() != Some("final")
        {
            self.note(
                position,
                DiagnosticKind::DroppedText,
                format!("header {text:?} ended by <|end|> with only {body:?} dropped"),
            );
            return;
        }
        self.note(
            position,
            DiagnosticKind::UnterminatedHeader,
            format!("header ended by {ended_by} without <|message|>; the text after it was read as content"),
        );
        let guessed = self.guess_channel(&mut header, &body);
        self.begin_content(header, self.tokens.len());
        self.set_repaired(&body, guessed);
        match ended_by {
            // Closed by the next token (see `pending_stop`).
            HeaderEnd::Stop(token) => self.pending_stop = Some(token),
            _ => self.finish_message(None),
        }
    }

    /// Closes the message a stop token ended (see `pending_stop`).
    fn close_pending(&mut self) {
        if let Some(stop) = self.pending_stop.take() {
            self.finish_message(Some(stop));
            self.turn_over = !self.strict && self.ends_turn(stop);
        }
    }

    /// Lenient, after a header token: if the header has certainly run into
    /// its content with no `<|message|>` (`<|channel|>final The answer…`),
    /// the message's content starts now, with the text so far after the
    /// header words as this token's delta, so that a streaming reader sees it.
    fn check_run_on(&mut self, position: usize) {
        let State::Header { tokens, .. } = &self.state else { return };
        let text = self.encoding.tokenizer().decode_lossy(tokens);
        let Some(split) = header::run_on(&text, self.next_role) else { return };
        let (head, body) = (&text[..split.header_end], &text[split.content_start..]);
        let role = self.next_role;
        let mut repairs = Vec::new();
        let mut header = if head.trim().is_empty() {
            ParsedHeader::for_role(role.unwrap_or(Role::Assistant))
        } else {
            header::parse_lenient(head, role, &self.lenient(), &mut repairs)
        };
        let body = body.strip_prefix(' ').unwrap_or(body).to_string();
        self.note_all(position, DiagnosticKind::RepairedHeader, repairs);
        self.note(
            position,
            DiagnosticKind::UnterminatedHeader,
            format!("header {head:?} ran into its content with no <|message|>; {body:?} read as content"),
        );
        let guessed = self.guess_channel(&mut header, &body);
        self.begin_content(header, position + 1);
        self.set_repaired(&body, guessed);
    }

    fn note(&mut self, position: usize, kind: DiagnosticKind, detail: String) {
        if self.counting {
            super::counters::count(kind);
        }
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
            State::ExpectStart if self.quiet => StreamState::Header,
            State::ExpectStart => StreamState::ExpectStart,
            State::Header { .. } => StreamState::Header,
            State::Content { .. } => StreamState::Content,
        }
    }

    /// A serializable snapshot of the state.
    pub fn state_data(&self) -> StreamStateData {
        match &self.state {
            State::ExpectStart if self.quiet => StreamStateData::Header { header_tokens: Vec::new() },
            State::ExpectStart => StreamStateData::ExpectStart,
            State::Header { tokens, .. } => StreamStateData::Header { header_tokens: tokens.clone() },
            State::Content { header, first_token, text, lead, .. } => {
                let mut content_tokens = self.encoding.tokenizer().encode_ordinary(text.get(..*lead).unwrap_or(""));
                content_tokens.extend(self.reencoded_deltas(*first_token));
                StreamStateData::Content { header: header.clone(), content_tokens }
            }
        }
    }

    /// The text of the last content token, `None` if it completed no character.
    pub fn last_content_delta(&self) -> Option<&str> {
        match &self.state {
            State::Content { text, last_delta: Some(start), .. } => text.get(*start..),
            _ => None,
        }
    }

    /// Each content delta of the message in progress encoded again as
    /// ordinary text, one after the other. The deltas are found again by
    /// replaying the message's content tokens through a new decoder: the
    /// same bytes through the same decoder give the same deltas (with the
    /// parser's mode, which [`strict`](Self::strict) sets before the stream).
    fn reencoded_deltas(&self, first_token: usize) -> Vec<Rank> {
        let tokenizer = self.encoding.tokenizer();
        let mut decoder = Utf8Decoder::default();
        let mut text = String::new();
        let mut tokens = Vec::new();
        for &token in self.tokens.get(first_token..).unwrap_or_default() {
            let bytes = tokenizer.token_bytes(token);
            if content_decodes(bytes, self.strict) {
                let start = text.len();
                decoder.push(bytes, &mut text);
                if let Some(delta) = text.get(start..).filter(|d| !d.is_empty()) {
                    tokens.extend(tokenizer.encode_ordinary(delta));
                }
            }
        }
        tokens
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

    /// The events since the last drain (without draining them).
    ///
    /// They are not queued but read off the messages when asked for (see
    /// `EventCursor` in the source): a parser that is never drained holds
    /// nothing for them. Between two drains, each message contributes its
    /// `MessageStarted` (if not drained before), the text added since as one
    /// `ContentDelta` (if any), and its `MessageCompleted` (if completed
    /// since): what a queue merging consecutive deltas would hold.
    pub fn events(&self) -> Vec<ParseEvent> {
        self.events_from(self.events).0
    }

    /// Takes the events since the last drain.
    pub fn drain_events(&mut self) -> Vec<ParseEvent> {
        let (events, cursor) = self.events_from(self.events);
        self.events = cursor;
        events
    }

    /// The events after `cursor`, and the cursor after them.
    fn events_from(&self, cursor: EventCursor) -> (Vec<ParseEvent>, EventCursor) {
        let in_progress = match &self.state {
            State::Content { header, text, .. } => Some((header, text.as_str())),
            _ => None,
        };
        events_after(&self.messages, in_progress, cursor)
    }

    /// About how many heap bytes the parser holds (capacities, not lengths):
    /// the recorded tokens, the messages, the message in progress and the
    /// diagnostics. Events take none (they are read off the messages when
    /// drained), so a parser that is never drained holds its messages' text
    /// and 4 bytes a token, and nothing else that grows with the tokens.
    pub fn heap_bytes(&self) -> usize {
        fn opt(s: &Option<String>) -> usize {
            s.as_ref().map_or(0, String::capacity)
        }
        fn header(h: &ParsedHeader) -> usize {
            opt(&h.author.name) + opt(&h.channel) + opt(&h.recipient) + opt(&h.content_type)
        }
        let rank = std::mem::size_of::<Rank>();
        let messages: usize = self
            .messages
            .iter()
            .map(|m| {
                let text: usize =
                    m.content.iter().map(|c| if let Content::Text(t) = c { t.text.capacity() } else { 0 }).sum();
                text + m.content.capacity() * std::mem::size_of::<Content>()
                    + opt(&m.author.name)
                    + opt(&m.channel)
                    + opt(&m.recipient)
                    + opt(&m.content_type)
            })
            .sum();
        let state = match &self.state {
            State::ExpectStart => 0,
            State::Header { tokens, .. } => tokens.capacity() * rank,
            State::Content { header: h, text, decoder, .. } => header(h) + text.capacity() + decoder.heap_bytes(),
        };
        let diagnostics: usize = self.diagnostics.iter().map(|d| d.detail.capacity()).sum::<usize>()
            + self.diagnostics.capacity() * std::mem::size_of::<Diagnostic>();
        self.tokens.capacity() * rank
            + self.messages.capacity() * std::mem::size_of::<Message>()
            + messages
            + state
            + diagnostics
    }

    /// The repairs a lenient parser made, in token order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

/// Whether a content token's bytes go to the decoder: known ids always; an
/// unknown id in strict mode (it poisons the message, as in the reference),
/// not in lenient mode (skipped with a diagnostic).
fn content_decodes(bytes: Option<&[u8]>, strict: bool) -> bool {
    bytes.is_some() || strict
}
