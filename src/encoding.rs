//! [`HarmonyEncoding`]: the tokenizer plus the harmony formatting tokens,
//! and [`load_harmony_encoding`].

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use crate::error::{HarmonyError, Result};
use crate::tokenizer::{Rank, SpecialTokenSet, Tokenizer};

/// The special tokens that structure a harmony conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormattingToken {
    /// `<|start|>`: begins a message.
    Start,
    /// `<|message|>`: ends the header, begins the content.
    Message,
    /// `<|end|>`: ends a message.
    End,
    /// `<|return|>`: ends the model's final answer; sampling stops.
    Return,
    /// `<|call|>`: ends a tool call; sampling stops.
    Call,
    /// `<|channel|>`: introduces the channel in a header.
    Channel,
    /// `<|constrain|>`: introduces a constrained content type (`json`).
    Constrain,
}

impl FormattingToken {
    /// The token's text.
    pub const fn text(&self) -> &'static str {
        match self {
            FormattingToken::Start => "<|start|>",
            FormattingToken::Message => "<|message|>",
            FormattingToken::End => "<|end|>",
            FormattingToken::Return => "<|return|>",
            FormattingToken::Call => "<|call|>",
            FormattingToken::Channel => "<|channel|>",
            FormattingToken::Constrain => "<|constrain|>",
        }
    }

    /// The token's id in `o200k_harmony`.
    pub const fn rank(&self) -> Rank {
        match self {
            FormattingToken::Start => 200_006,
            FormattingToken::Message => 200_008,
            FormattingToken::End => 200_007,
            FormattingToken::Return => 200_002,
            FormattingToken::Call => 200_012,
            FormattingToken::Channel => 200_005,
            FormattingToken::Constrain => 200_003,
        }
    }
}

/// The encodings this library knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HarmonyEncodingName {
    /// The encoding of the gpt-oss models (`HarmonyGptOss`).
    HarmonyGptOss,
}

impl HarmonyEncodingName {
    /// The name as a string.
    pub fn as_str(&self) -> &'static str {
        match self {
            HarmonyEncodingName::HarmonyGptOss => "HarmonyGptOss",
        }
    }
}

impl fmt::Display for HarmonyEncodingName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HarmonyEncodingName {
    type Err = HarmonyError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "HarmonyGptOss" | "harmony_gpt_oss" | "o200k_harmony" => Ok(HarmonyEncodingName::HarmonyGptOss),
            other => Err(HarmonyError::InvalidEncodingName(other.to_string())),
        }
    }
}

/// Renders conversations to tokens and tokens back to text.
///
/// Immutable and cheap to clone (the tokenizer is built once per process and
/// shared); use one instance from any number of threads.
#[derive(Clone)]
pub struct HarmonyEncoding {
    name: HarmonyEncodingName,
    tokenizer: &'static Tokenizer,
}

impl fmt::Debug for HarmonyEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HarmonyEncoding").field("name", &self.name.as_str()).finish()
    }
}

/// Loads an encoding. The vocabulary is embedded in the library and built
/// once per process; later calls share it.
pub fn load_harmony_encoding(name: HarmonyEncodingName) -> Result<HarmonyEncoding> {
    Ok(HarmonyEncoding { name, tokenizer: Tokenizer::shared()? })
}

impl HarmonyEncoding {
    /// The encoding's name (`HarmonyGptOss`).
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The tokenizer's name.
    pub fn tokenizer_name(&self) -> &str {
        "o200k_harmony"
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &'static Tokenizer {
        self.tokenizer
    }

    /// The id of a formatting token.
    pub fn formatting_token(&self, token: FormattingToken) -> Rank {
        token.rank()
    }

    /// Tokens that end a message: `<|return|>`, `<|call|>` and `<|end|>`,
    /// in the reference's order.
    pub fn stop_tokens(&self) -> Vec<Rank> {
        vec![FormattingToken::Return.rank(), FormattingToken::Call.rank(), FormattingToken::End.rank()]
    }

    /// Tokens after which the assistant's turn is over and control returns
    /// to the caller: `<|return|>` and `<|call|>` (ascending).
    pub fn stop_tokens_for_assistant_actions(&self) -> Vec<Rank> {
        vec![FormattingToken::Return.rank(), FormattingToken::Call.rank()]
    }

    /// Encodes text as ordinary text.
    pub fn encode_ordinary(&self, text: &str) -> Vec<Rank> {
        self.tokenizer.encode_ordinary(text)
    }

    /// Encodes text; special token texts in `allowed_special` become special
    /// tokens.
    pub fn encode(&self, text: &str, allowed_special: &HashSet<String>) -> Vec<Rank> {
        self.tokenizer.encode(text, SpecialTokenSet::Only(allowed_special))
    }

    /// Encodes text with every special token text turned into its token.
    pub fn encode_with_special_tokens(&self, text: &str) -> Vec<Rank> {
        self.tokenizer.encode_with_special_tokens(text)
    }

    /// Decodes tokens to bytes.
    pub fn decode_bytes(&self, tokens: &[Rank]) -> Result<Vec<u8>> {
        self.tokenizer.decode_bytes(tokens)
    }

    /// Decodes tokens to a string; errors on invalid UTF-8 or unknown ids.
    pub fn decode_utf8(&self, tokens: &[Rank]) -> Result<String> {
        self.tokenizer.decode_utf8(tokens)
    }

    /// Whether `token` is a special token.
    pub fn is_special_token(&self, token: Rank) -> bool {
        self.tokenizer.is_special_token(token)
    }

    /// The number of token ids, ordinary and special: ids run from 0 to
    /// `n_vocab() - 1`.
    pub fn n_vocab(&self) -> usize {
        self.tokenizer.n_vocab()
    }
}
