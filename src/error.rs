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

    /// The tokenizer could not be built (the embedded vocabulary is corrupt).
    #[error("Unknown encoding name: {0}")]
    UnknownEncoding(String),

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
    /// An [`HarmonyError::InvalidRequest`] from its text, which starts with
    /// the field's path followed by `:`, ` is `, ` must ` or ` names `
    /// (`messages[3].tool_call_id: …`, `messages is required`); the path
    /// becomes `param`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        let message = message.into();
        let param = field_path(&message).map(str::to_string);
        HarmonyError::InvalidRequest { message, param }
    }

    /// The request field an error is about, if it is about one.
    pub fn param(&self) -> Option<&str> {
        match self {
            HarmonyError::InvalidRequest { param, .. } => param.as_deref(),
            _ => None,
        }
    }
}

/// The leading field path of an invalid-request message.
fn field_path(message: &str) -> Option<&str> {
    let end = message.find([' ', ':']).unwrap_or(message.len());
    let (path, rest) = message.split_at(end);
    let follows = [":", " is ", " must ", " names "].iter().any(|f| rest.starts_with(f));
    let mut chars = path.chars();
    let starts = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let shaped = path.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'));
    (follows && starts && shaped).then_some(path)
}

impl From<serde_json::Error> for HarmonyError {
    fn from(e: serde_json::Error) -> Self {
        HarmonyError::Json(e.to_string())
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = HarmonyError> = std::result::Result<T, E>;
