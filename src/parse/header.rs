//! Reading a message header: the text between `<|start|>` and `<|message|>`.
//!
//! A header is decoded once, when `<|message|>` arrives. Two readers share
//! the grammar `ROLE [to=RECIPIENT] [<|channel|>CHANNEL] [to=RECIPIENT]
//! [CONTENT_TYPE]`:
//!
//! - [`parse_strict`] reads it the way the reference implementation does,
//!   including its error messages, so that well-formed output gives exactly
//!   the reference's messages. One deliberate difference: on the `final`
//!   channel a lone `<|constrain|>…` part is the content type, not the
//!   recipient (see `test-data/deviations.md`).
//! - [`parse_lenient`] never fails. It uses the strict reading when that
//!   succeeds with clean fields, and otherwise repairs the header, saying
//!   what it repaired.

use serde::Serialize;

use super::tools::DeclaredTools;
use crate::chat::{Author, Role};
use crate::encoding::HarmonyEncoding;
use crate::error::{HarmonyError, Result};
use crate::tokenizer::Rank;

pub(crate) const CHANNEL_MARKER: &str = "<|channel|>";
pub(crate) const CONSTRAIN_MARKER: &str = "<|constrain|>";

/// The channels gpt-oss uses; used to read `assistantfinal`-style headers.
const KNOWN_CHANNELS: [&str; 3] = ["analysis", "commentary", "final"];

/// What a header says about its message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParsedHeader {
    /// The author (role, and the tool's name for tool messages).
    pub author: Author,
    /// The recipient (`to=…`), if any.
    pub recipient: Option<String>,
    /// The channel, if any.
    pub channel: Option<String>,
    /// The content type, e.g. `<|constrain|>json`, if any.
    pub content_type: Option<String>,
}

impl ParsedHeader {
    /// A header with only an author.
    pub(crate) fn for_role(role: Role) -> Self {
        ParsedHeader { author: Author::from(role), recipient: None, channel: None, content_type: None }
    }
}

/// Reads a header as the reference does. `role` is the role the caller gave
/// for this message (only ever the first one); without it the first word of
/// the header is the role.
pub(crate) fn parse_strict(text: &str, role: Option<Role>) -> Result<ParsedHeader> {
    let mut header = text.to_string();
    let mut channel = None;
    if let Some(idx) = header.find(CHANNEL_MARKER) {
        let after = &header[idx + CHANNEL_MARKER.len()..];
        let end = after.find(|c: char| c.is_whitespace() || c == '<').unwrap_or(after.len());
        if end == 0 {
            return Err(HarmonyError::EmptyChannel);
        }
        channel = Some(after[..end].to_string());
        header = format!("{}{}", &header[..idx], &after[end..]);
    }
    let mut header = header.trim().to_string();
    if header.contains(CONSTRAIN_MARKER) {
        header = header.replace(CONSTRAIN_MARKER, " <|constrain|>").trim().to_string();
    }
    let mut parts: Vec<&str> = header.split_ascii_whitespace().collect();

    let mut role_word = None;
    let role = match role {
        Some(role) => role,
        None => {
            let first = *parts.first().ok_or(HarmonyError::HeaderWithoutRole)?;
            role_word = Some(first.to_string());
            match first.parse::<Role>() {
                Ok(role) => role,
                Err(_) if parts.len() > 1 || first.starts_with("to=") => {
                    parts.remove(0);
                    Role::Tool
                }
                Err(e) => return Err(e),
            }
        }
    };
    if parts.first() == Some(&role.as_str()) {
        parts.remove(0);
    }

    let mut recipient = None;
    let mut content_type = None;
    match parts.len() {
        0 => {}
        1 => {
            let part = parts.remove(0);
            if part.starts_with(CONSTRAIN_MARKER) && channel.as_deref() == Some("final") {
                // A structured final answer. The reference makes the marker
                // the recipient; it is the content type. (On other channels
                // the reference's reading stays, for parity; lenient mode
                // repairs it, see `clean_header`.)
                content_type = Some(part.to_string());
            } else {
                recipient = Some(part.strip_prefix("to=").unwrap_or(part).to_string());
            }
        }
        _ => {
            let last = parts.remove(parts.len() - 1);
            if let Some(to) = last.strip_prefix("to=") {
                recipient = Some(to.to_string());
            } else {
                content_type = Some(last.to_string());
                let before = parts.remove(parts.len() - 1);
                recipient = Some(before.strip_prefix("to=").unwrap_or(before).to_string());
            }
        }
    }
    if !parts.is_empty() {
        return Err(HarmonyError::HeaderLeftover(parts.join(" ")));
    }
    let name = if role == Role::Tool { role_word } else { None };
    Ok(ParsedHeader { author: Author { role, name }, recipient, channel, content_type })
}

/// Whether a field read by [`parse_strict`] is fit to hand to a caller:
/// no control-token text, nothing empty.
fn clean_field(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(|v| !v.is_empty() && !v.contains("<|"))
}

fn clean_header(h: &ParsedHeader) -> bool {
    let content_type = h.content_type.as_deref().map(|c| c.strip_prefix(CONSTRAIN_MARKER).unwrap_or(c));
    // A role glued to text (`assistantassistant`) is a damaged role word, not a recipient.
    let glued =
        |v: &Option<String>| v.as_deref().is_some_and(|v| Role::ALL.iter().any(|&r| glued_role(v, r).is_some()));
    clean_field(&h.author.name)
        && clean_field(&h.recipient)
        && !glued(&h.recipient)
        && clean_field(&h.channel)
        && content_type.is_none_or(|c| !c.contains("<|"))
}

/// Reads a header, repairing what it must. Never fails; each repair is
/// described in `repairs`. `tools` are the recipients the prompt declared
/// (may be empty), which a damaged recipient is mapped to.
pub(crate) fn parse_lenient(
    text: &str,
    role: Option<Role>,
    cx: &Lenient<'_>,
    repairs: &mut Vec<String>,
) -> ParsedHeader {
    let mut header = match parse_strict(text, role) {
        Ok(h) if clean_header(&h) => h,
        Ok(_) => {
            repairs.push(format!("header {text:?} had control-token text in a field; re-read leniently"));
            repair(text, role, cx.tools, repairs)
        }
        Err(e) => {
            repairs.push(format!("header {text:?}: {e}; re-read leniently"));
            repair(text, role, cx.tools, repairs)
        }
    };
    fix_fields(&mut header, cx, repairs);
    header
}

/// What lenient reading knows beyond the header's text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lenient<'a> {
    /// The recipients the prompt declared (may be empty).
    pub tools: &'a DeclaredTools,
    /// Whether the tokens are an assistant's completion (the parser was
    /// opened with a role), where the model writes no tool messages.
    pub completion: bool,
    /// The repairs servers need beyond the reference's lenient reading
    /// (`StreamableParser::server_repairs`).
    pub server: bool,
}

/// Repairs of fields that read cleanly but mean something else.
fn fix_fields(h: &mut ParsedHeader, cx: &Lenient<'_>, repairs: &mut Vec<String>) {
    let tools = cx.tools;
    // `<|start|>final<|message|>`: a channel word where the role was, read as
    // the recipient (role given) or a tool's name (no role given).
    if h.channel.is_none() {
        if let Some(word) = h.recipient.as_deref().filter(|_| h.author.role != Role::Tool).and_then(channel_word) {
            repairs.push(format!("channel word {:?} where the role belongs read as the channel", word));
            h.channel = Some(word.to_string());
            h.recipient = None;
        } else if let Some(word) =
            h.author.name.as_deref().filter(|_| h.author.role == Role::Tool).and_then(channel_word)
        {
            repairs.push(format!(
                "channel word {word:?} where the role belongs read as the channel of an assistant message"
            ));
            h.channel = Some(word.to_string());
            h.author = Author::from(Role::Assistant);
        }
    }
    // `to=functions.Web Search`: the strict reading takes the second word for
    // the content type; a capitalized word is the recipient's.
    if let (Some(recipient), Some(content_type)) = (&h.recipient, &h.content_type) {
        if !plausible_content_type(content_type) {
            let joined = format!("{recipient} {content_type}");
            repairs.push(format!("recipient read as {joined:?} (a name with a space), not {recipient:?} with content type {content_type:?}"));
            h.recipient = Some(joined);
            h.content_type = None;
        }
    }
    // `<|channel|>final <|constrain|>functions.search_tickets`: the marker
    // written where `to=` belongs.
    if h.recipient.is_none() {
        let value = h.content_type.as_deref().and_then(|c| c.strip_prefix(CONSTRAIN_MARKER)).unwrap_or("");
        if is_function(value) || tools.find(value).is_some() {
            repairs.push(format!("<|constrain|>{value} read as the recipient {value:?}"));
            h.recipient = Some(value.to_string());
            h.content_type = None;
        }
    }
    // `<|start|>bash<|channel|>commentary<|message|>` in a completion: the
    // model writes no tool messages there, so the name is the tool it calls.
    if cx.completion && h.author.role == Role::Tool && h.recipient.is_none() {
        if let Some(name) = h.author.name.take() {
            let to = match tools.find(&name) {
                Some(declared) => declared.to_string(),
                None if name.contains('.') => name.clone(),
                None => format!("functions.{name}"),
            };
            repairs.push(format!("tool name {name:?} where the role belongs read as a call to {to:?}"));
            h.author = Author::from(Role::Assistant);
            h.recipient = Some(to);
        }
    }
    if let Some(recipient) = &h.recipient {
        if let Some(declared) = tools.find(recipient) {
            if declared != recipient {
                repairs.push(format!("recipient {recipient:?} read as the declared tool {declared:?}"));
                h.recipient = Some(declared.to_string());
            }
        } else if let Some((name, suffix)) =
            glued_type(recipient, tools, cx.server).filter(|_| h.content_type.is_none())
        {
            // `to=functions.shelljson`: the content type glued to the name.
            repairs.push(format!("recipient {recipient:?} read as {name:?} with content type {suffix:?}"));
            h.recipient = Some(name);
            h.content_type = Some(suffix.to_string());
        }
    }
    // `to=ask_followup_question` in a completion: a function without its
    // namespace (the built-in tools and the roles keep theirs).
    if cx.server && cx.completion && h.author.role == Role::Assistant {
        if let Some(recipient) = h.recipient.as_deref().filter(|r| is_bare_function(r)) {
            let to = format!("functions.{recipient}");
            repairs.push(format!("recipient {recipient:?} without a namespace read as {to:?}"));
            h.recipient = Some(to);
        }
    }
}

/// `functions.shelljson`: a name with `json` or `code` glued to it. With
/// declared tools, the rest must be one of them; without (only with
/// `server`), the suffix must follow a lowercase letter or digit
/// (`parse_json` stays).
fn glued_type(recipient: &str, tools: &DeclaredTools, server: bool) -> Option<(String, &'static str)> {
    ["json", "code"].into_iter().find_map(|suffix| {
        let base = recipient.strip_suffix(suffix)?;
        if !tools.is_empty() {
            return tools.find(base).map(|d| (d.to_string(), suffix));
        }
        if !server {
            return None;
        }
        let name = base.strip_prefix("functions.")?;
        let glued = name.chars().last().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        (glued && name.len() >= 2).then(|| (base.to_string(), suffix))
    })
}

/// A recipient that can only be a function named without its namespace: no
/// dot, not a built-in tool or a role, an identifier.
fn is_bare_function(recipient: &str) -> bool {
    const NOT_FUNCTIONS: [&str; 7] = ["python", "browser", "container", "assistant", "user", "system", "developer"];
    !recipient.contains('.')
        && !NOT_FUNCTIONS.contains(&recipient)
        && recipient.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && recipient.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

/// `functions.NAME`: the namespace of the developer's tools and a name.
fn is_function(value: &str) -> bool {
    value.strip_prefix("functions.").is_some_and(|name| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    })
}

/// A content type as models write them: `<|constrain|>json`, `json`,
/// `code`, `application/json` (lowercase, no spaces); not `Search`.
fn plausible_content_type(word: &str) -> bool {
    word.starts_with(CONSTRAIN_MARKER) || !word.chars().any(|c| c.is_uppercase())
}

/// A known channel word, also written with its marker as text or with
/// punctuation before it: `final`, `––commentary`, `<|channel>analysis`,
/// `channel|>final`, `|commentary`.
fn channel_word(word: &str) -> Option<&'static str> {
    let rest = word.trim_start_matches(|c: char| !c.is_alphanumeric());
    let rest = match rest.strip_prefix("channel") {
        Some(after) if after.starts_with(|c: char| !c.is_alphanumeric()) => {
            after.trim_start_matches(|c: char| !c.is_alphanumeric())
        }
        _ => rest,
    };
    KNOWN_CHANNELS.iter().copied().find(|&c| c == rest)
}

/// The lenient reading: pull out channel markers and control-token text,
/// then classify the words.
fn repair(text: &str, role: Option<Role>, tools: &DeclaredTools, repairs: &mut Vec<String>) -> ParsedHeader {
    let (rest, mut channel) = take_channels(text, repairs);
    let rest = strip_control_tokens(&rest, repairs).replace(CONSTRAIN_MARKER, " <|constrain|>");
    let mut words: Vec<&str> = rest.split_whitespace().collect();

    let (role, name) = read_role(&mut words, role, &mut channel, repairs);

    let mut recipient: Option<String> = None;
    let mut content_type: Option<String> = None;
    // Words other than recipients and constrained types. The grammar puts the
    // content type last, so words before a `to=` are leftovers, never types.
    let mut others: Vec<&str> = Vec::new();
    let mut junk: Vec<&str> = Vec::new();
    let mut stale_type = false;
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        if let Some(to) = word.strip_prefix("to=") {
            junk.append(&mut others);
            // The grammar puts the content type last: a plain word after
            // this recipient replaces one written before it.
            stale_type = content_type.is_some();
            // A name with spaces: the words after it that complete a declared
            // tool, or else that are capitalized (`to=functions.Web Search`).
            let mut to = to.to_string();
            let (taken, name) = recipient_words(&to, &words[i + 1..], tools);
            if taken > 0 {
                repairs.push(format!("recipient {name:?} has a space in it; read as one name"));
                to = name;
                i += taken;
            }
            match &recipient {
                _ if to.is_empty() => repairs.push("empty recipient `to=` ignored".into()),
                None => recipient = Some(to),
                Some(r) if *r == to => repairs.push(format!("repeated recipient {to:?} read once")),
                Some(r) => repairs.push(format!("second recipient {to:?} ignored (kept {r:?})")),
            }
        } else if let Some(c) = channel_word(word).filter(|_| channel.is_none()) {
            repairs.push(format!("channel {c:?} read from the text {word:?} (no <|channel|> token)"));
            channel = Some(c.to_string());
        } else if word.starts_with(CONSTRAIN_MARKER) {
            let mut ct = word.to_string();
            if ct == CONSTRAIN_MARKER {
                if let Some(next) = words.get(i + 1).filter(|w| !w.starts_with("to=") && !w.starts_with("<|")) {
                    ct.push_str(next);
                    i += 1;
                }
            }
            let value = &ct[CONSTRAIN_MARKER.len()..];
            if let Some(c) = channel_word(value) {
                // `<|constrain|>commentary`: the marker written for
                // `<|channel|>`; the model's last word on the channel.
                repairs.push(format!("channel {c:?} read from {ct:?}"));
                channel = Some(c.to_string());
            } else {
                content_type = Some(ct);
            }
        } else {
            others.push(word);
        }
        i += 1;
    }
    if content_type.is_none() || stale_type {
        if let Some(word) = others.pop() {
            if let Some(old) = content_type.replace(word.to_string()) {
                repairs.push(format!("content type {old:?} before the recipient replaced by {word:?}"));
            }
        }
    }
    if recipient.is_none() {
        recipient = others.pop().map(str::to_string);
    }
    junk.append(&mut others);
    if !junk.is_empty() {
        repairs.push(format!("ignored unexpected header text {:?}", junk.join(" ")));
    }
    ParsedHeader { author: Author { role, name }, recipient, channel, content_type }
}

/// How many of `next` (the words after `to=FIRST`) continue the recipient's
/// name, and the name. With declared tools: the most words (up to four) whose
/// join with `FIRST` is a declared tool. Without: the capitalized words.
fn recipient_words(first: &str, next: &[&str], tools: &DeclaredTools) -> (usize, String) {
    let plain = next.iter().take_while(|w| !w.starts_with("to=") && !w.starts_with("<|")).take(4).count();
    if !tools.is_empty() {
        let mut best = (0, String::new());
        let mut name = first.to_string();
        for (k, word) in next.iter().take(plain).enumerate() {
            name.push(' ');
            name.push_str(word);
            if tools.find(&name).is_some() {
                best = (k + 1, name.clone());
            }
        }
        if best.0 > 0 || tools.find(first).is_some() {
            return best;
        }
    }
    let taken = next.iter().take(plain).take_while(|w| w.starts_with(|c: char| c.is_uppercase())).count();
    let mut name = first.to_string();
    for word in next.iter().take(taken) {
        name.push(' ');
        name.push_str(word);
    }
    (taken, name)
}

/// Removes every `<|channel|>VALUE`; the first non-empty value is the channel.
fn take_channels(text: &str, repairs: &mut Vec<String>) -> (String, Option<String>) {
    let mut rest = String::with_capacity(text.len());
    let mut channel: Option<String> = None;
    let mut tail = text;
    while let Some(idx) = tail.find(CHANNEL_MARKER) {
        rest.push_str(&tail[..idx]);
        rest.push(' ');
        let after = &tail[idx + CHANNEL_MARKER.len()..];
        let end = after.find(|c: char| c.is_whitespace() || c == '<').unwrap_or(after.len());
        let mut value = &after[..end];
        let mut glued_to = "";
        if let Some(c) = KNOWN_CHANNELS.iter().find(|c| value.len() > c.len() && value.starts_with(*c)) {
            if value[c.len()..].starts_with("to=") {
                // `commentaryto=functions.x`
                glued_to = &value[c.len()..];
                value = &value[..c.len()];
            }
        }
        rest.push(' ');
        rest.push_str(glued_to);
        match &channel {
            _ if value.is_empty() => repairs.push("empty channel ignored".into()),
            None => channel = Some(value.to_string()),
            Some(c) if c == value => repairs.push(format!("repeated channel {value:?} read once")),
            Some(c) => repairs.push(format!("second channel {value:?} ignored (kept {c:?})")),
        }
        tail = &after[end..];
    }
    rest.push_str(tail);
    (rest, channel)
}

/// Replaces control-token text other than `<|constrain|>` (e.g. a stray
/// `<|start|>`) with a space.
fn strip_control_tokens(text: &str, repairs: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut tail = text;
    while let Some(open) = tail.find("<|") {
        let Some(len) = tail[open + 2..].find("|>") else { break };
        let token = &tail[open..open + 2 + len + 2];
        let inner = &token[2..token.len() - 2];
        out.push_str(&tail[..open]);
        if token == CONSTRAIN_MARKER || !inner.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            out.push_str(token);
        } else {
            repairs.push(format!("stray {token} in header ignored"));
            out.push(' ');
        }
        tail = &tail[open + token.len()..];
    }
    out.push_str(tail);
    out
}

/// Takes the role off the front of the words.
fn read_role(
    words: &mut Vec<&str>,
    given: Option<Role>,
    channel: &mut Option<String>,
    repairs: &mut Vec<String>,
) -> (Role, Option<String>) {
    let first = words.first().copied();
    if let Some(word) = first.filter(|_| channel.is_none()) {
        if let Some(c) = channel_word(word) {
            repairs.push(format!("channel word {word:?} where the role belongs read as the channel"));
            *channel = Some(c.to_string());
            words.remove(0);
            return (given.unwrap_or(Role::Assistant), None);
        }
    }
    if let Some(role) = given {
        if let Some(word) = first {
            if word == role.as_str() {
                words.remove(0);
            } else if let Some(rest) = glued_role(word, role) {
                repairs.push(format!("role word {word:?} read as {role}"));
                words.remove(0);
                take_glued_channel(rest, channel, repairs);
            }
        }
        return (role, None);
    }
    let Some(word) = first else {
        repairs.push("header has no role; assumed assistant".into());
        return (Role::Assistant, None);
    };
    if let Ok(role) = word.parse::<Role>() {
        words.remove(0);
        let name = (role == Role::Tool).then(|| word.to_string());
        return (role, name);
    }
    if word.starts_with("to=") {
        repairs.push("header starts with a recipient; assumed assistant".into());
        return (Role::Assistant, None);
    }
    for role in Role::ALL {
        if let Some(rest) = glued_role(word, role) {
            repairs.push(format!("role word {word:?} read as {role}"));
            words.remove(0);
            take_glued_channel(rest, channel, repairs);
            return (role, None);
        }
    }
    repairs.push(format!("unknown role {word:?} read as a tool name"));
    words.remove(0);
    (Role::Tool, Some(word.to_string()))
}

/// `assistantassistant`, `junkassistant` or `assistantfinal`: the role with
/// something glued to it. Returns what follows the role word.
fn glued_role(word: &str, role: Role) -> Option<&str> {
    let name = role.as_str();
    if word == name || word.starts_with("to=") {
        return None;
    }
    if let Some(rest) = word.strip_prefix(name) {
        let rest_is_role = rest.trim_start_matches(name).is_empty();
        if rest_is_role {
            return Some("");
        }
        if let Some(c) = channel_word(rest) {
            return Some(c);
        }
    }
    (word.len() > name.len() && word.ends_with(name)).then_some("")
}

fn take_glued_channel(rest: &str, channel: &mut Option<String>, repairs: &mut Vec<String>) {
    if !rest.is_empty() && channel.is_none() {
        repairs.push(format!("channel {rest:?} read from text glued to the role"));
        *channel = Some(rest.to_string());
    }
}

/// Where a header without `<|message|>` ends and its content begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Split {
    /// Bytes of the text that are header.
    pub header_end: usize,
    /// Where the content begins (`header_end`, or after a `<|constrain|>`
    /// marker that stood for `<|message|>`).
    pub content_start: usize,
    /// Whether the text can no longer be read as a header, whatever follows:
    /// a word no header has (`{"a"`, `Hello!`, `The`), a line break, three
    /// plain words, a known channel with text glued to it (`final__X`).
    pub sure: bool,
}

/// Finds where header words end in `text`, a header that has not (yet) seen
/// `<|message|>`. Header words: the author (first word, without a given
/// role), a role or channel word, `<|channel|>VALUE`, `to=NAME` (and the
/// capitalized words of a name with spaces), `<|constrain|>TYPE`. The first
/// other word starts the content. `None`: all header so far.
pub(crate) fn split_header(text: &str, role: Option<Role>) -> Option<Split> {
    let mut pos = 0;
    let mut words = 0;
    let mut after_to = false;
    let bytes = text.len();
    while pos < bytes {
        let rest = &text[pos..];
        let start = pos + (rest.len() - rest.trim_start().len());
        if start >= bytes {
            return None;
        }
        let word_len = text[start..].find(char::is_whitespace).unwrap_or(bytes - start);
        let word = &text[start..start + word_len];
        let first = words == 0;
        words += 1;
        pos = start + word_len;
        if pos == bytes && could_become_header_word(word) {
            // The word may still be growing into a header word.
            return None;
        }
        if let Some(idx) = word.rfind(CHANNEL_MARKER) {
            let value_start = idx + CHANNEL_MARKER.len();
            let value = &word[value_start..];
            let value_end = value.find('<').unwrap_or(value.len());
            let value = &value[..value_end];
            if let Some(c) = KNOWN_CHANNELS.iter().find(|c| value.len() > c.len() && value.starts_with(*c)) {
                let glued = &value[c.len()..];
                let maybe_to = "to=".starts_with(glued) || glued.starts_with("to=");
                if !maybe_to && channel_word(glued).is_none() {
                    // Sure once a few characters show it is no other channel
                    // name (`final_v2`) or a damaged one (`commentaryé`).
                    let at = start + value_start + c.len();
                    let odd = glued.chars().any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
                    return Some(Split { header_end: at, content_start: at, sure: odd && glued.chars().count() >= 3 });
                }
            }
            after_to = word[value_start..].contains("to=");
            continue;
        }
        if word.starts_with("to=") {
            after_to = true;
            continue;
        }
        if let Some(value) = word.strip_prefix(CONSTRAIN_MARKER) {
            if !value.is_empty() && !value.chars().all(type_char) {
                // `<|constrain|>write: …`: the marker stood for `<|message|>`.
                let at = start + CONSTRAIN_MARKER.len();
                return Some(Split { header_end: start, content_start: at, sure: true });
            }
            after_to = false;
            continue;
        }
        if (first && (role.is_none() || word.parse::<Role>().is_ok() || is_glued_role(word)))
            || channel_word(word).is_some()
            || (word.starts_with("<|") && word.ends_with("|>"))
        {
            // (A stray control token is dropped from the header later.)
            continue;
        }
        if after_to && word.starts_with(|c: char| c.is_uppercase()) {
            continue;
        }
        // The first plain word: the content, if nothing but content can be here.
        let gap = &text[..start];
        let line_break = gap.rfind(|c: char| !c.is_whitespace()).map_or(gap, |i| &gap[i..]).contains('\n');
        let later_words = text[pos..].split_whitespace().take(2).count();
        let sure = !word.chars().all(|c| type_char(c) && !c.is_uppercase()) || line_break || later_words >= 2;
        return Some(Split { header_end: start, content_start: start, sure });
    }
    None
}

/// Whether `word`, the last of the text so far, may be the start of a header
/// word: `to=`, a marker, a role or a channel word (`––comm`).
fn could_become_header_word(word: &str) -> bool {
    let stripped = word.trim_start_matches(|c: char| !c.is_alphanumeric());
    let stripped = match stripped.strip_prefix("channel") {
        Some(after) => after.trim_start_matches(|c: char| !c.is_alphanumeric()),
        None => stripped,
    };
    let prefix_of = |whole: &str| !stripped.is_empty() && whole.starts_with(stripped);
    "to=".starts_with(word)
        || CONSTRAIN_MARKER.starts_with(word)
        || CHANNEL_MARKER.starts_with(word)
        || "channel".starts_with(stripped)
        || KNOWN_CHANNELS.iter().any(|c| prefix_of(c))
        || Role::ALL.iter().any(|r| prefix_of(r.as_str()))
}

/// A character of a content type or a bare recipient (`json`, `functions.x`).
fn type_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '+' | '-')
}

fn is_glued_role(word: &str) -> bool {
    Role::ALL.iter().any(|&r| glued_role(word, r).is_some())
}

/// Lenient, per token: the content start of a header that has certainly run
/// into its content with no `<|message|>` (`<|channel|>final The answer…`),
/// once the content holds a letter or 16 bytes (so that a stray `?` or `2`
/// is not taken for an answer yet).
pub(crate) fn run_on(text: &str, role: Option<Role>) -> Option<Split> {
    let split = split_header(text, role).filter(|s| s.sure)?;
    let body = &text[split.content_start..];
    (body.len() >= 16 || body.chars().any(char::is_alphabetic)).then_some(split)
}

/// Splits a header that never got its `<|message|>` into a header and the
/// content the model wrote after it: `assistant<|channel|>final {"a": 1}`
/// gives channel `final` and content `{"a": 1}`; `<|channel|>final__X` gives
/// `__X`. A lone `<|constrain|>WORD` at the end stood for `<|message|>`:
/// `WORD` is the content.
pub(crate) fn split_unterminated(
    text: &str,
    role: Option<Role>,
    cx: &Lenient<'_>,
    repairs: &mut Vec<String>,
) -> (ParsedHeader, String) {
    let (mut head, mut body) = match split_header(text, role) {
        Some(split) => (&text[..split.header_end], &text[split.content_start..]),
        None => (text, ""),
    };
    if body.trim().is_empty() {
        if let Some(idx) = head.rfind(CONSTRAIN_MARKER) {
            let value = head[idx + CONSTRAIN_MARKER.len()..].trim();
            if !value.is_empty() && !value.contains(char::is_whitespace) && !value.contains("<|") {
                repairs.push(format!("<|constrain|> stood for <|message|>: {value:?} read as the content"));
                body = value;
                head = &head[..idx];
            }
        }
    }
    let body = body.strip_prefix(' ').unwrap_or(body);
    let header = if head.trim().is_empty() {
        ParsedHeader::for_role(role.unwrap_or(Role::Assistant))
    } else {
        parse_lenient(head, role, cx, repairs)
    };
    (header, body.to_string())
}

/// Strict: the header's text (exact UTF-8 of known ids) read as the reference reads it.
pub(crate) fn strict_header(encoding: &HarmonyEncoding, tokens: &[Rank], role: Option<Role>) -> Result<ParsedHeader> {
    let tokenizer = encoding.tokenizer();
    let mut bytes = Vec::new();
    for &t in tokens {
        bytes.extend_from_slice(tokenizer.token_bytes(t).ok_or(HarmonyError::UndecodableHeader)?);
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| HarmonyError::UndecodableHeader)?;
    parse_strict(text, role)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(text: &str, role: Option<Role>) -> (Option<String>, Option<String>, Option<String>) {
        let h = parse_strict(text, role).expect("parses");
        (h.channel, h.recipient, h.content_type)
    }

    fn lenient(text: &str) -> (Option<String>, Option<String>, Option<String>) {
        let cx = Lenient { tools: &DeclaredTools::default(), completion: true, server: false };
        let h = parse_lenient(text, Some(Role::Assistant), &cx, &mut Vec::new());
        (h.channel, h.recipient, h.content_type)
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn strict_reads_the_rendered_forms() {
        assert_eq!(strict("assistant<|channel|>final", None), (s("final"), None, None));
        assert_eq!(
            strict("assistant<|channel|>commentary to=functions.f <|constrain|>json", None),
            (s("commentary"), s("functions.f"), s("<|constrain|>json"))
        );
        assert_eq!(
            strict("assistant to=python<|channel|>analysis code", None),
            (s("analysis"), s("python"), s("code"))
        );
        let tool = parse_strict("functions.f to=assistant<|channel|>commentary", None).expect("parses");
        assert_eq!(tool.author, Author::new(Role::Tool, "functions.f"));
        assert_eq!(tool.recipient.as_deref(), Some("assistant"));
    }

    #[test]
    fn strict_constrained_final_has_no_recipient() {
        assert_eq!(
            strict("assistant<|channel|>final <|constrain|>json", None),
            (s("final"), None, s("<|constrain|>json"))
        );
    }

    #[test]
    fn strict_errors_read_like_the_reference() {
        let err = |t: &str, r| parse_strict(t, r).expect_err("fails").to_string();
        assert_eq!(err("assistant<|channel|>", None), "channel marker present but no channel value found in header");
        assert_eq!(err("pythonf", None), "Unknown role: pythonf");
        assert_eq!(err("<|channel|>final", None), "message header did not contain a role");
        assert_eq!(
            err(".x1 to=assistant<|channel|>commentary", Some(Role::Assistant)),
            "unexpected tokens remaining in message header: Some(\".x1\")"
        );
    }

    #[test]
    fn lenient_repairs() {
        let c = s("commentary");
        let f = s("functions.x");
        let json = s("<|constrain|>json");
        assert_eq!(
            lenient("assistant to=functions.x<|channel|>commentary <|constrain|>json"),
            (c.clone(), f.clone(), json.clone())
        );
        assert_eq!(
            lenient("assistant<|channel|>commentary to=functions.x<|constrain|>json"),
            (c.clone(), f.clone(), json.clone())
        );
        assert_eq!(
            lenient("assistant<|channel|>commentary to=functions.x to=functions.x"),
            (c.clone(), f.clone(), None)
        );
        assert_eq!(
            lenient("assistant<|channel|>commentary to=assistant<|channel|>commentary"),
            (c.clone(), s("assistant"), None)
        );
        assert_eq!(lenient("assistant to=create_event<|channel|>analysis"), (s("analysis"), s("create_event"), None));
        assert_eq!(lenient("assistantassistant<|channel|>final"), (s("final"), None, None));
        assert_eq!(lenient("assistant<|channel|>"), (None, None, None));
    }

    #[test]
    fn unterminated_header_keeps_its_content() {
        let mut repairs = Vec::new();
        let cx = Lenient { tools: &DeclaredTools::default(), completion: true, server: false };
        let (h, body) = split_unterminated("assistant<|channel|>final {\"answer\": 1}", None, &cx, &mut repairs);
        assert_eq!((h.channel.as_deref(), body.as_str()), (Some("final"), "{\"answer\": 1}"));
        let (h, body) = split_unterminated("I can't help with that.", Some(Role::Assistant), &cx, &mut repairs);
        assert_eq!((h.author.role, h.channel, body.as_str()), (Role::Assistant, None, "I can't help with that."));
    }
}
