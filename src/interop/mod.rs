//! Conversions between the OpenAI API wire formats and harmony.
//!
//! Servers that serve gpt-oss behind an OpenAI-compatible API all need the
//! same four pieces; this module owns them, on plain JSON values, so a
//! server is a loop around a token generator:
//!
//! - a request (Chat Completions: [`conversation_from_chat_completions`];
//!   Responses: [`conversation_from_responses`]) becomes a [`Conversation`],
//!   and [`HarmonyEncoding::prompt_for_chat_completions`] /
//!   [`HarmonyEncoding::prompt_for_responses`] give the prompt tokens and
//!   the stop tokens to sample with;
//! - parsed completion messages become the API's reply
//!   ([`chat_completion_message_from_harmony`], [`response_output_from_harmony`]);
//! - completion tokens stream out as API chunks or events
//!   ([`ChatCompletionStream`], [`ResponsesStream`]).
//!
//! Function names that are not identifiers are renamed for the prompt and
//! mapped back on output ([`ToolNames`]). Input that cannot be represented
//! is an error ([`HarmonyError::InvalidRequest`]), never silently dropped.
//! `docs/interop.md` lists every mapping.

mod chat;
mod chat_stream;
mod json;
mod names;
mod request;
mod responses;
mod responses_stream;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub use chat::{
    chat_completion_message_from_harmony, chat_completion_object, chat_tool_names, conversation_from_chat_completions,
    CompletionInfo,
};
pub use chat_stream::{ChatCompletionStream, FinishReason};
pub(crate) use json::kind as json_kind;
pub use names::ToolNames;
pub use responses::{conversation_from_responses, response_object, response_output_from_harmony, responses_tool_names};
pub use responses_stream::ResponsesStream;

use crate::chat::Conversation;
use crate::encoding::HarmonyEncoding;
use crate::error::Result;
use crate::tokenizer::Rank;
use crate::HarmonyError;

/// Choices a request cannot carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversionOptions {
    /// `Current date:` of the system message (`YYYY-MM-DD`); today (UTC)
    /// when `None`.
    pub conversation_start_date: Option<String>,
}

impl ConversionOptions {
    /// Refuses a date that is not a calendar date as `YYYY-MM-DD`, naming it.
    pub fn check(&self) -> Result<()> {
        match &self.conversation_start_date {
            Some(date) if !is_calendar_date(date) => {
                Err(HarmonyError::InvalidArgument(format!("date must be a calendar date as YYYY-MM-DD, got {date:?}")))
            }
            _ => Ok(()),
        }
    }

    /// The `Current date:` line's date: the one given (checked), or today.
    pub(crate) fn date(&self) -> Result<String> {
        self.check()?;
        Ok(self.conversation_start_date.clone().unwrap_or_else(today))
    }
}

/// Whether `text` is `YYYY-MM-DD` naming a day of the Gregorian calendar.
fn is_calendar_date(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r.clone()).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) || !digits(5..7) || !digits(8..10) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| text[r].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// What a server needs to sample a reply: the prompt and the stop tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// The conversation the request became.
    pub conversation: Conversation,
    /// The prompt: the conversation rendered for an assistant completion.
    pub tokens: Vec<Rank>,
    /// Sample until one of these: `<|return|>` (a final answer) or
    /// `<|call|>` (a tool call, whose result the client sends back).
    pub stop_tokens: Vec<Rank>,
    /// The recipients the prompt declares (`functions.get_weather`, …): the
    /// parser of the reply maps damaged recipients to them
    /// ([`StreamableParser::with_tools`](crate::StreamableParser::with_tools)).
    pub tools: Vec<String>,
    /// The most tokens to sample: Chat Completions' `max_completion_tokens`
    /// (or the older `max_tokens`), Responses' `max_output_tokens`; each a
    /// positive integer (a larger one than a `u32` holds is `u32::MAX`).
    pub max_tokens: Option<u32>,
    /// How many choices to sample (Chat Completions' `n`, a positive
    /// integer; 1 by default and for Responses).
    pub n: u32,
    /// The request's `input` as items (a string is one user `message`): what
    /// a server keeps, after the earlier items, for the next
    /// `previous_response_id`. Empty for Chat Completions.
    pub input_items: Vec<serde_json::Value>,
}

impl HarmonyEncoding {
    /// The prompt and stop tokens for a Chat Completions request.
    pub fn prompt_for_chat_completions(
        &self,
        request: &serde_json::Value,
        options: &ConversionOptions,
    ) -> Result<Prompt> {
        let conversation = conversation_from_chat_completions(request, options)?;
        let mut prompt = self.prompt_for(conversation)?;
        prompt.max_tokens = match positive(request, "max_completion_tokens")? {
            Some(n) => Some(n),
            None => positive(request, "max_tokens")?,
        };
        prompt.n = positive(request, "n")?.unwrap_or(1);
        Ok(prompt)
    }

    /// The prompt and stop tokens for a Responses request, after the items
    /// of earlier turns (`previous_items`, e.g. kept by the server for
    /// `previous_response_id`).
    pub fn prompt_for_responses(
        &self,
        request: &serde_json::Value,
        previous_items: Option<&[serde_json::Value]>,
        options: &ConversionOptions,
    ) -> Result<Prompt> {
        let conversation = conversation_from_responses(request, previous_items, options)?;
        let mut prompt = self.prompt_for(conversation)?;
        prompt.max_tokens = positive(request, "max_output_tokens")?;
        prompt.input_items = match request.get("input") {
            Some(serde_json::Value::String(text)) => {
                vec![serde_json::json!({"type": "message", "role": "user", "content": text})]
            }
            Some(serde_json::Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        };
        Ok(prompt)
    }

    /// The completion grammar for the prompt of a Chat Completions request:
    /// its `tools`, its `tool_choice` (`required` and a named function
    /// enforced, which the prompt alone cannot) and its `response_format`.
    pub fn completion_grammar_for_chat_completions(
        &self,
        request: &serde_json::Value,
        options: &ConversionOptions,
        syntax: crate::grammar::GrammarSyntax,
    ) -> Result<String> {
        let (conversation, choice) = chat::chat_conversation_and_choice(request, options)?;
        self.completion_grammar(&conversation, crate::chat::Role::Assistant, syntax, &choice)
    }

    /// As [`Self::completion_grammar_for_chat_completions`], for a Responses
    /// request (`tools`, `tool_choice`, `text.format`) after earlier items.
    pub fn completion_grammar_for_responses(
        &self,
        request: &serde_json::Value,
        previous_items: Option<&[serde_json::Value]>,
        options: &ConversionOptions,
        syntax: crate::grammar::GrammarSyntax,
    ) -> Result<String> {
        let (conversation, choice) = responses::responses_conversation_and_choice(request, previous_items, options)?;
        self.completion_grammar(&conversation, crate::chat::Role::Assistant, syntax, &choice)
    }

    fn prompt_for(&self, conversation: Conversation) -> Result<Prompt> {
        let tokens =
            self.render_conversation_for_completion(&conversation.messages, crate::chat::Role::Assistant, None)?;
        let tools = conversation.declared_recipients();
        Ok(Prompt {
            conversation,
            tokens,
            stop_tokens: self.stop_tokens_for_assistant_actions(),
            tools,
            max_tokens: None,
            n: 1,
            input_items: Vec::new(),
        })
    }
}

/// A request's optional positive integer `field` (absent or `null`: none).
fn positive(request: &serde_json::Value, field: &str) -> Result<Option<u32>> {
    match request.get(field) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => match value.as_u64() {
            Some(n) if n >= 1 => Ok(Some(u32::try_from(n).unwrap_or(u32::MAX))),
            _ => Err(HarmonyError::invalid_request(Some(field), format!("{field} must be a positive integer"))),
        },
    }
}

/// A Chat Completions `usage` object: `prompt_tokens`, `completion_tokens`
/// and their sum, `total_tokens` (for a whole reply and for the stream's
/// `include_usage` chunk alike).
pub fn chat_completion_usage(prompt_tokens: usize, completion_tokens: usize) -> serde_json::Value {
    serde_json::json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    })
}

/// A Responses `usage` object: `input_tokens` (the prompt), `output_tokens`
/// (the completion) and, of those, `reasoning_tokens`: the analysis
/// messages' text re-encoded (exact up to how the model split it), at most
/// the completion's length.
pub fn responses_usage(
    encoding: &HarmonyEncoding,
    prompt_tokens: usize,
    completion_tokens: usize,
    messages: &[crate::chat::Message],
) -> serde_json::Value {
    let reasoning: usize = messages
        .iter()
        .filter(|m| m.channel.as_deref() == Some("analysis"))
        .flat_map(|m| &m.content)
        .map(|c| match c {
            crate::chat::Content::Text(t) => encoding.encode_ordinary(&t.text).len(),
            _ => 0,
        })
        .sum();
    serde_json::json!({
        "input_tokens": prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": completion_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning.min(completion_tokens)},
        "total_tokens": prompt_tokens + completion_tokens,
    })
}

/// The model name a reply reports: `model` if given, else the request's
/// `model`, else `gpt-oss`.
pub fn model_of(request: Option<&serde_json::Value>, model: Option<&str>) -> String {
    model
        .or_else(|| request.and_then(|r| r.get("model")).and_then(serde_json::Value::as_str))
        .unwrap_or("gpt-oss")
        .to_string()
}

/// A fresh identifier such as `call_3fZ…` (the prefix, `_`, 24 random
/// alphanumerics), unique within the process.
pub fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let state = RandomState::new();
    let mut out = String::with_capacity(prefix.len() + 25);
    out.push_str(prefix);
    out.push('_');
    for round in 0..3u64 {
        let mut hasher = state.build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.write_u64(round);
        let mut bits = hasher.finish();
        for _ in 0..8 {
            out.push(ALPHABET[(bits % 62) as usize] as char);
            bits /= 62;
        }
    }
    out
}

/// Whether the last token a stream parser took is a stop token (the reply
/// ended by itself rather than running out of budget).
pub(crate) fn ended_on_stop(parser: &crate::parse::StreamableParser) -> bool {
    parser.tokens().last().is_some_and(|t| parser.encoding().stop_tokens().contains(t))
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today() -> String {
    let (y, m, d) = civil_from_days((unix_now() / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_632), (2026, 6, 28));
        assert_eq!(today().len(), 10);
    }

    #[test]
    fn ids_are_unique_and_shaped() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_id("call")).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 29 && id.starts_with("call_")));
    }
}
