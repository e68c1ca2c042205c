//! Completion tokens back to messages.
//!
//! [`StreamableParser`] reads one token at a time (for streaming servers);
//! [`HarmonyEncoding::parse_messages_from_completion_tokens`] and
//! [`HarmonyEncoding::parse_completion`] read a whole completion. Both have
//! a strict mode, which matches the reference implementation message for
//! message and error for error, and a lenient mode, which never fails and
//! reports its repairs as [`Diagnostic`]s. `test-data/deviations.md` lists
//! where and why we differ from the reference.

mod counters;
mod events;
mod header;
mod stream;
mod tools;
mod utf8;

pub use counters::repair_counts;
pub use events::{Diagnostic, DiagnosticKind, ParseEvent};
pub use header::ParsedHeader;
pub use stream::{ParserSnapshot, StreamState, StreamStateData, StreamableParser};

use crate::chat::{Message, Role};
use crate::encoding::HarmonyEncoding;
use crate::error::Result;
use crate::tokenizer::{Rank, TokenId};

/// Messages read from a whole completion, with the repairs made to read them.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedCompletion {
    /// The messages, in order.
    pub messages: Vec<Message>,
    /// What lenient parsing repaired (always empty in strict mode).
    pub diagnostics: Vec<Diagnostic>,
}

impl HarmonyEncoding {
    /// Parses a whole completion into messages. `role` is the role of the
    /// first message when the prompt ended with its `<|start|>ROLE`
    /// (usually [`Role::Assistant`]). With `strict` false this never fails.
    pub fn parse_messages_from_completion_tokens<I>(
        &self,
        tokens: I,
        role: Option<Role>,
        strict: bool,
    ) -> Result<Vec<Message>>
    where
        I: IntoIterator<Item = Rank>,
    {
        Ok(self.parse_completion(tokens, role, strict)?.messages)
    }

    /// Like [`parse_messages_from_completion_tokens`](Self::parse_messages_from_completion_tokens),
    /// also returning the diagnostics of lenient parsing.
    pub fn parse_completion<I>(&self, tokens: I, role: Option<Role>, strict: bool) -> Result<ParsedCompletion>
    where
        I: IntoIterator<Item = Rank>,
    {
        StreamableParser::new(self.clone(), role).strict(strict).parse_all(tokens)
    }
}

impl StreamableParser {
    /// Feeds a whole completion and ends the stream: the messages and the
    /// repairs. For options beyond a role and a mode, e.g. the declared
    /// tools: `StreamableParser::new(enc, role).strict(false).with_tools(names).parse_all(tokens)`.
    pub fn parse_all<I>(mut self, tokens: I) -> Result<ParsedCompletion>
    where
        I: IntoIterator<Item = Rank>,
    {
        for token in tokens {
            self.process(token)?;
        }
        self.process_eos()?;
        let diagnostics = self.diagnostics().to_vec();
        Ok(ParsedCompletion { messages: self.into_messages(), diagnostics })
    }

    /// [`parse_all`](Self::parse_all) for ids as a caller holds them (see
    /// [`process_id`](Self::process_id)).
    pub fn parse_ids(mut self, ids: &[TokenId]) -> Result<ParsedCompletion> {
        for id in ids {
            self.process_id(id)?;
        }
        self.process_eos()?;
        let diagnostics = self.diagnostics().to_vec();
        Ok(ParsedCompletion { messages: self.into_messages(), diagnostics })
    }
}
