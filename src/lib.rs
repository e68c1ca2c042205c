//! Render and parse the harmony response format of OpenAI's gpt-oss models.
//!
//! ```
//! use openai_harmony::chat::{Conversation, Message, Role, SystemContent};
//! use openai_harmony::{load_harmony_encoding, HarmonyEncodingName};
//!
//! let enc = load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss)?;
//! let convo = Conversation::from_messages([
//!     Message::from_role_and_content(Role::System, SystemContent::new()),
//!     Message::from_role_and_content(Role::User, "What is 2 + 2?"),
//! ]);
//! let tokens = enc.render_conversation_for_completion(&convo, Role::Assistant, None)?;
//! assert!(enc.decode_utf8(&tokens)?.ends_with("<|start|>assistant"));
//! # Ok::<(), openai_harmony::HarmonyError>(())
//! ```
//!
//! The vocabulary (`o200k_harmony`) is embedded: loading needs no network,
//! no environment variable and no file.

#![deny(missing_docs)]

pub mod batch;
pub mod chat;
pub mod dataset;
pub mod encoding;
pub mod error;
pub mod grammar;
pub mod interop;
pub mod parse;
pub mod render;
pub mod tokenizer;

#[cfg(feature = "python")]
mod py;

/// The `serde_json` this crate is built with: tool parameters, response
/// formats and interop requests are `serde_json::Value`s, so callers can
/// write `openai_harmony::serde_json::json!(…)` without a dependency of their
/// own (or of a different version).
pub use serde_json;

pub use encoding::{load_harmony_encoding, FormattingToken, HarmonyEncoding, HarmonyEncodingName};
pub use error::HarmonyError;
pub use parse::{
    repair_counts, Diagnostic, DiagnosticKind, ParseEvent, ParsedCompletion, ParserSnapshot, StreamState,
    StreamableParser,
};
pub use render::RenderKind;
pub use render::{MessageSpan, RenderCache, RenderConversationConfig, RenderOptions, TrainOn};
pub use tokenizer::{Rank, SpecialTokenSet, TokenId, Tokenizer};

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The examples of `docs/rust.md`, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/rust.md")]
struct RustDocDoctests;

/// The Rust examples of `docs/interop.md`, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/interop.md")]
struct InteropDoctests;

/// The Rust examples of `docs/parsing.md`, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/parsing.md")]
struct ParsingDoctests;
