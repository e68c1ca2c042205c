//! The one error type of the crate.
//!
//! Every fallible operation returns [`HarmonyError`]. Messages are written to
//! be shown to a user as they are; where the reference implementation has a
//! well-known message (callers match on them), ours starts with the same text.

use crate::tokenizer::Rank;

/// Everything that can go wrong while tokenizing, rendering or parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HarmonyError {
    /// `encode` met the text of a special token that the caller did not allow.
    #[error(
        "Encountered text corresponding to disallowed special token '{0}'.\n\
         If you want this text to be encoded as a special token, pass it to `allowed_special`, e.g. `allowed_special={{'{0}', ...}}`.\n\
         If you want this text to be encoded as normal text, disable the check for this token by passing `disallowed_special=(enc.special_tokens_set - {{'{0}'}})`.\n\
         To disable this check for all special tokens, pass `disallowed_special=()`.\n"
    )]
    DisallowedSpecialToken(String),

    /// A token id that is not in the vocabulary.
    #[error("Could not decode tokens: Invalid token error: Invalid token for decoding: {0}")]
    InvalidToken(Rank),

    /// A token id no [`Rank`] can hold (`-1`, `2**40` from Python), as decimal
    /// text: worded as an unknown id.
    #[error("Could not decode tokens: Invalid token error: Invalid token for decoding: {0}")]
    TokenOutOfRange(String),

    /// Decoded bytes are not valid UTF-8 (`decode_utf8` only).
    #[error("Could not decode tokens: Invalid utf-8 sequence: {0}")]
    InvalidUtf8(std::str::Utf8Error),

    /// A special token was asked for by a name the vocabulary does not have.
    #[error("Unknown special token: {0}")]
    UnknownSpecialToken(String),

    /// A tool message (role `tool`) must carry the tool's name as author name.
    #[error("Tools should have a name!")]
    ToolWithoutName,

    /// System content was found in a message whose role is not `system`.
    #[error("SystemContent may only appear in system messages, found in {0}")]
    SystemContentOutsideSystem(String),

    /// Developer content was found in a message whose role is not `developer`.
    #[error("DeveloperContent may only appear in developer messages, found in {0}")]
    DeveloperContentOutsideDeveloper(String),

    /// System or developer content from the Python models is not valid JSON
    /// of its type (an unknown reasoning effort, a NaN in a schema).
    #[error("invalid conversation JSON: {0}")]
    ContentJson(String),

    /// A JSON document could not be turned into a conversation or message.
    #[error("Invalid JSON: {0}")]
    Json(String),

    /// An encoding name the reference's registry does not know.
    #[error("Unknown encoding name: {0}")]
    UnknownEncoding(String),

    /// The embedded vocabulary could not be read (a build that shipped a
    /// damaged file); never input's fault.
    #[error("the embedded o200k_harmony vocabulary is corrupt: {0}")]
    CorruptVocabulary(String),

    /// An encoding name that this library does not know.
    #[error("Invalid HarmonyEncodingName: {0}")]
    InvalidEncodingName(String),

    /// A role name that is not one of user, assistant, system, developer, tool.
    #[error("Unknown role: {0}")]
    UnknownRole(String),

    /// The parser expected `<|start|>` (or, in a header, something else) and got this token.
    #[error("Unexpected token {token} while expecting start token {expected}")]
    UnexpectedToken {
        /// The token that arrived.
        token: Rank,
        /// The token the parser was waiting for.
        expected: Rank,
    },

    /// A header's tokens are not valid UTF-8, or hold an id outside the vocabulary.
    #[error("could not decode header")]
    UndecodableHeader,

    /// A header had nothing before `<|message|>` to read a role from.
    #[error("message header did not contain a role")]
    HeaderWithoutRole,

    /// A header had `<|channel|>` with no channel name after it.
    #[error("channel marker present but no channel value found in header")]
    EmptyChannel,

    /// A header had more words than role, recipient and content type.
    #[error("unexpected tokens remaining in message header: Some({0:?})")]
    HeaderLeftover(String),

    /// The completion ended inside a header (before `<|message|>`).
    #[error("Unexpected EOS while waiting for message header to complete")]
    UnexpectedEosInHeader,

    /// An OpenAI API request (or item) that cannot be converted. The text
    /// starts with the field's path (`messages[3].tool_call_id: …`), and
    /// `param` holds that path, as OpenAI error bodies report it (`None` for
    /// the request as a whole). Made by [`HarmonyError::invalid_request`].
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// What is wrong, starting with the field's path.
        message: String,
        /// The offending field's path (`messages[3].tool_call_id`).
        param: Option<String>,
    },

    /// An option of a call that is not one of its values, e.g. an unknown
    /// grammar syntax; the text names the option and the value.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A row of training data that is not a conversation (empty, or JSON
    /// of another shape); the text says what it is instead.
    #[error("invalid conversation: {0}")]
    InvalidConversation(String),
}

impl HarmonyError {
    /// An [`HarmonyError::InvalidRequest`]: `message` says what is wrong
    /// (starting with the field's path when there is one); `param` is that
    /// path as data (`messages[3].tool_call_id`), `None` for the request as
    /// a whole.
    pub fn invalid_request(param: Option<&str>, message: impl Into<String>) -> Self {
        HarmonyError::InvalidRequest { message: message.into(), param: param.map(str::to_string) }
    }

    /// The detail of an error that wraps another's text (a JSON parser's
    /// message, with its position), without the variant's wording: what a
    /// caller re-wording the error needs, so that nobody slices messages.
    pub fn detail(&self) -> Option<&str> {
        match self {
            HarmonyError::Json(detail) | HarmonyError::ContentJson(detail) => Some(detail),
            _ => None,
        }
    }

    /// The request field an error is about, if it is about one.
    pub fn param(&self) -> Option<&str> {
        match self {
            HarmonyError::InvalidRequest { param, .. } => param.as_deref(),
            _ => None,
        }
    }

    /// A stable, machine-readable name of the error's kind
    /// (`invalid_request`, `unexpected_token`, …): what code should match
    /// on, never the message text.
    pub fn kind(&self) -> &'static str {
        match self {
            HarmonyError::DisallowedSpecialToken(_) => "disallowed_special_token",
            HarmonyError::InvalidToken(_) | HarmonyError::TokenOutOfRange(_) => "invalid_token",
            HarmonyError::InvalidUtf8(_) => "invalid_utf8",
            HarmonyError::UnknownSpecialToken(_) => "unknown_special_token",
            HarmonyError::ToolWithoutName => "tool_without_name",
            HarmonyError::SystemContentOutsideSystem(_) => "system_content_outside_system",
            HarmonyError::DeveloperContentOutsideDeveloper(_) => "developer_content_outside_developer",
            HarmonyError::ContentJson(_) => "content_json",
            HarmonyError::Json(_) => "json",
            HarmonyError::UnknownEncoding(_) => "unknown_encoding",
            HarmonyError::CorruptVocabulary(_) => "corrupt_vocabulary",
            HarmonyError::InvalidEncodingName(_) => "invalid_encoding_name",
            HarmonyError::UnknownRole(_) => "unknown_role",
            HarmonyError::UnexpectedToken { .. } => "unexpected_token",
            HarmonyError::UndecodableHeader => "undecodable_header",
            HarmonyError::HeaderWithoutRole => "header_without_role",
            HarmonyError::EmptyChannel => "empty_channel",
            HarmonyError::HeaderLeftover(_) => "header_leftover",
            HarmonyError::UnexpectedEosInHeader => "unexpected_eos_in_header",
            HarmonyError::InvalidRequest { .. } => "invalid_request",
            HarmonyError::InvalidArgument(_) => "invalid_argument",
            HarmonyError::InvalidConversation(_) => "invalid_conversation",
        }
    }
}

impl From<serde_json::Error> for HarmonyError {
    fn from(e: serde_json::Error) -> Self {
        HarmonyError::Json(e.to_string())
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = HarmonyError> = std::result::Result<T, E>;
