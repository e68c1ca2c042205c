//! A parser as data, to rebuild it in another process (Python's pickle):
//! what it was made with and what it was fed. Restoring replays the tokens,
//! so the rebuilt parser is in exactly the state the original was in.

use serde::{Deserialize, Serialize};

use super::{EventCursor, StreamableParser};
use crate::chat::Role;
use crate::encoding::HarmonyEncoding;
use crate::error::{HarmonyError, Result};
use crate::tokenizer::Rank;

/// A parser's options and input: everything its state follows from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParserSnapshot {
    /// The encoding's name (`HarmonyGptOss`).
    pub encoding: String,
    /// The role the completion started with, if any.
    pub role: Option<Role>,
    /// Strict or lenient.
    pub strict: bool,
    /// Every token fed, in order.
    pub tokens: Vec<Rank>,
    /// How many tokens had been fed at each successful end of stream.
    pub ends: Vec<usize>,
    /// How far events were drained: message index, whether its start was
    /// drained, bytes of its text drained.
    pub drained: (usize, bool, usize),
    /// The declared recipients ([`StreamableParser::with_tools`]).
    #[serde(default)]
    pub tools: Vec<String>,
    /// [`StreamableParser::server_repairs`].
    #[serde(default)]
    pub server_repairs: bool,
}

impl StreamableParser {
    /// The parser as data (see [`ParserSnapshot`]).
    pub fn snapshot(&self) -> ParserSnapshot {
        ParserSnapshot {
            encoding: self.encoding.name().to_string(),
            role: self.initial_role,
            strict: self.strict,
            tokens: self.tokens.clone(),
            ends: self.ends.clone(),
            drained: (self.events.message, self.events.started, self.events.offset),
            tools: self.tools.names().to_vec(),
            server_repairs: self.server_repairs,
        }
    }

    /// Rebuilds a parser from its snapshot by feeding it the same input:
    /// its errors (a strict parser's, which it records and goes on after)
    /// happen again and are passed over as they were.
    pub fn restore(encoding: HarmonyEncoding, snapshot: &ParserSnapshot) -> Result<Self> {
        if encoding.name() != snapshot.encoding {
            return Err(HarmonyError::InvalidArgument(format!(
                "the parser snapshot is for encoding {:?}, not {:?}",
                snapshot.encoding,
                encoding.name()
            )));
        }
        let mut parser = StreamableParser::new(encoding, snapshot.role)
            .strict(snapshot.strict)
            .with_tools(snapshot.tools.iter().cloned())
            .server_repairs(snapshot.server_repairs);
        parser.counting = false;
        let mut ends = snapshot.ends.iter().copied().peekable();
        for (i, &token) in snapshot.tokens.iter().enumerate() {
            while ends.next_if(|&at| at == i).is_some() {
                let _ = parser.process_eos();
            }
            let _ = parser.process(token);
        }
        while ends.next_if(|&at| at == snapshot.tokens.len()).is_some() {
            let _ = parser.process_eos();
        }
        if ends.next().is_some() || parser.ends != snapshot.ends {
            return Err(HarmonyError::InvalidArgument(
                "the parser snapshot's ends of stream do not follow its tokens".into(),
            ));
        }
        let (message, started, offset) = snapshot.drained;
        let cursor = EventCursor { message, started, offset };
        // The drained position must be one a drain of this parser could
        // have reached: at most where a drain now would stop.
        let latest = parser.events_from(EventCursor::default()).1;
        let reachable = cursor.message < latest.message
            || (cursor.message == latest.message
                && cursor.offset <= latest.offset
                && (latest.started || !cursor.started));
        if !reachable {
            return Err(HarmonyError::InvalidArgument(
                "the parser snapshot's drained events lie beyond its messages".into(),
            ));
        }
        parser.events = cursor;
        parser.counting = true;
        Ok(parser)
    }
}
