//! Training data: rows of JSON (one conversation each) to token columns,
//! for dataset pipelines (`openai_harmony.datasets`, `harmony tokenize`).
//!
//! A row is a harmony conversation (`{"messages": [...]}` as
//! `Conversation::to_json` writes it, or the bare list of messages) or, with
//! [`RowFormat::Chat`], a Chat Completions request (`{"messages": [...],
//! "tools": [...]}`, or the bare list of messages), converted as
//! [`crate::interop`] converts requests. Each row becomes its training
//! render and loss mask. The columns are flat, as Arrow lays out a list
//! column: all tokens end to end, and `offsets[i]..offsets[i + 1]` for row
//! `i`. A bad row is reported with its index and the reason, and adds
//! nothing to the columns.
//!
//! The work is single-threaded: callers run one call per worker.

use std::str::FromStr;

use serde_json::Value;

use crate::chat::{Conversation, Message};
use crate::encoding::HarmonyEncoding;
use crate::error::{HarmonyError, Result};
use crate::interop::{conversation_from_chat_completions, ConversionOptions};
use crate::render::{CachePolicy, MessageSpan, RenderConversationConfig, TrainOn};
use crate::tokenizer::Rank;

/// What a row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RowFormat {
    /// A harmony conversation.
    #[default]
    Harmony,
    /// A Chat Completions request (or its `messages`).
    Chat,
}

impl FromStr for RowFormat {
    type Err = HarmonyError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "harmony" => Ok(RowFormat::Harmony),
            "chat" => Ok(RowFormat::Chat),
            other => Err(HarmonyError::InvalidArgument(format!(
                "input format must be \"harmony\" or \"chat\", got {other:?}"
            ))),
        }
    }
}

/// How rows are read and rendered.
#[derive(Debug, Clone, Default)]
pub struct RowOptions {
    /// What each row holds.
    pub format: RowFormat,
    /// Which assistant messages the mask covers.
    pub train_on: TrainOn,
    /// For chat rows: the system message's date (today when `None`).
    pub conversion: ConversionOptions,
    /// Also record where each message lies.
    pub spans: bool,
}

/// The rows' token columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenColumns {
    /// Every row's tokens, end to end.
    pub tokens: Vec<Rank>,
    /// The loss mask, aligned with `tokens`.
    pub mask: Vec<u8>,
    /// Row `i` is `tokens[offsets[i]..offsets[i + 1]]`; starts with 0.
    pub offsets: Vec<usize>,
    /// The input index of each row in the columns.
    pub rows: Vec<usize>,
    /// Each row's message spans (when asked).
    pub spans: Vec<Vec<MessageSpan>>,
    /// The input index and the error of each row that failed.
    pub errors: Vec<(usize, HarmonyError)>,
}

fn conversation(row: &[u8], options: &RowOptions) -> Result<Conversation> {
    if row.trim_ascii().is_empty() {
        return Err(HarmonyError::InvalidConversation("an empty row, no JSON value".into()));
    }
    // Harmony rows parse straight into the data model, without a JSON tree.
    if options.format == RowFormat::Harmony {
        match row.trim_ascii_start().first() {
            Some(b'{') => return Ok(serde_json::from_slice(row)?),
            Some(b'[') => return Ok(Conversation::from_messages(serde_json::from_slice::<Vec<Message>>(row)?)),
            _ => {}
        }
    }
    let value: Value = serde_json::from_slice(row)?;
    match options.format {
        RowFormat::Harmony => match value {
            Value::Array(messages) => {
                let messages: Vec<Message> = serde_json::from_value(Value::Array(messages))?;
                Ok(Conversation::from_messages(messages))
            }
            Value::Object(_) => Ok(serde_json::from_value(value)?),
            other => Err(HarmonyError::InvalidConversation(format!(
                "a harmony row must be a conversation object or a list of messages, got {}",
                crate::interop::json_kind(&other)
            ))),
        },
        RowFormat::Chat => match value {
            Value::Array(messages) => {
                conversation_from_chat_completions(&serde_json::json!({ "messages": messages }), &options.conversion)
            }
            Value::Object(_) => conversation_from_chat_completions(&value, &options.conversion),
            other => Err(HarmonyError::InvalidConversation(format!(
                "a chat row must be a request object or a list of messages, got {}",
                crate::interop::json_kind(&other)
            ))),
        },
    }
}

impl HarmonyEncoding {
    /// The training render and loss mask of each row (see the module
    /// documentation), as flat columns.
    ///
    /// Only system and developer messages go through the render cache here
    /// (they repeat from row to row; the rest never comes again).
    pub fn tokenize_rows<R: AsRef<[u8]>>(&self, rows: &[R], options: &RowOptions) -> TokenColumns {
        let mut out = TokenColumns { offsets: vec![0], ..TokenColumns::default() };
        let config = RenderConversationConfig::default();
        for (index, row) in rows.iter().enumerate() {
            let result = conversation(row.as_ref(), options).and_then(|convo| {
                let messages: Vec<&Message> = convo.messages.iter().collect();
                let (tokens, mask, spans) =
                    self.training_with_mask(&messages, Some(&config), options.train_on, CachePolicy::SetupOnly)?;
                Ok((tokens, mask, if options.spans { spans } else { Vec::new() }))
            });
            match result {
                Ok((tokens, mask, spans)) => {
                    out.tokens.extend_from_slice(&tokens);
                    out.mask.extend_from_slice(&mask);
                    out.offsets.push(out.tokens.len());
                    out.rows.push(index);
                    if options.spans {
                        out.spans.push(spans);
                    }
                }
                Err(e) => out.errors.push((index, e)),
            }
        }
        out
    }

    /// As [`tokenize_rows`](Self::tokenize_rows), for the lines of `data`
    /// (JSONL: split at `\n`; a final newline ends the last line and starts
    /// none). Row indices are line indices, from 0.
    pub fn tokenize_lines(&self, data: &[u8], options: &RowOptions) -> TokenColumns {
        let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
        if data.is_empty() || data.ends_with(b"\n") {
            lines.pop();
        }
        self.tokenize_rows(&lines, options)
    }
}
