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

use crate::chat::{Author, Role};
use crate::error::{HarmonyError, Result};

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
/// described in `repairs`.
pub(crate) fn parse_lenient(text: &str, role: Option<Role>, repairs: &mut Vec<String>) -> ParsedHeader {
    match parse_strict(text, role) {
        Ok(h) if clean_header(&h) => h,
        Ok(_) => {
            repairs.push(format!("header {text:?} had control-token text in a field; re-read leniently"));
            repair(text, role, repairs)
        }
        Err(e) => {
            repairs.push(format!("header {text:?}: {e}; re-read leniently"));
            repair(text, role, repairs)
        }
    }
}

/// The lenient reading: pull out channel markers and control-token text,
/// then classify the words.
fn repair(text: &str, role: Option<Role>, repairs: &mut Vec<String>) -> ParsedHeader {
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
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        if let Some(to) = word.strip_prefix("to=") {
            junk.append(&mut others);
            match &recipient {
                _ if to.is_empty() => repairs.push("empty recipient `to=` ignored".into()),
                None => recipient = Some(to.to_string()),
                Some(r) if r == to => repairs.push(format!("repeated recipient {to:?} read once")),
                Some(r) => repairs.push(format!("second recipient {to:?} ignored (kept {r:?})")),
            }
        } else if word.starts_with(CONSTRAIN_MARKER) {
            let mut ct = word.to_string();
            if ct == CONSTRAIN_MARKER {
                if let Some(next) = words.get(i + 1).filter(|w| !w.starts_with("to=") && !w.starts_with("<|")) {
                    ct.push_str(next);
                    i += 1;
                }
            }
            content_type = Some(ct);
        } else {
            others.push(word);
        }
        i += 1;
    }
    if content_type.is_none() {
        content_type = others.pop().map(str::to_string);
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
        let value = &after[..end];
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
        if KNOWN_CHANNELS.contains(&rest) {
            return Some(rest);
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

/// Splits a header that never got its `<|message|>` into a header and the
/// content the model wrote after it: `assistant<|channel|>final {"a": 1}`
/// gives channel `final` and content `{"a": 1}`.
pub(crate) fn split_unterminated(text: &str, role: Option<Role>, repairs: &mut Vec<String>) -> (ParsedHeader, String) {
    let trimmed = text.trim_start();
    // Header words end at the first word that is not a role, a recipient, a
    // content-type marker or a channel marker with its value.
    let mut end = 0;
    let mut seen_words = 0;
    let mut rest = trimmed;
    loop {
        let word_start = rest.len() - rest.trim_start().len();
        let candidate = &rest[word_start..];
        let word_len = candidate.find(char::is_whitespace).unwrap_or(candidate.len());
        let word = &candidate[..word_len];
        let is_header_word = !word.is_empty()
            && (word.contains(CHANNEL_MARKER)
                || word.starts_with("to=")
                || word.starts_with(CONSTRAIN_MARKER)
                || (seen_words == 0 && word.parse::<Role>().is_ok()));
        if !is_header_word {
            break;
        }
        seen_words += 1;
        let consumed = word_start + word_len;
        end += consumed;
        rest = &rest[consumed..];
    }
    let (head, body) = trimmed.split_at(end);
    let body = body.strip_prefix(' ').unwrap_or(body);
    let header = if head.trim().is_empty() {
        ParsedHeader::for_role(role.unwrap_or(Role::Assistant))
    } else {
        parse_lenient(head, role, repairs)
    };
    (header, body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(text: &str, role: Option<Role>) -> (Option<String>, Option<String>, Option<String>) {
        let h = parse_strict(text, role).expect("parses");
        (h.channel, h.recipient, h.content_type)
    }

    fn lenient(text: &str) -> (Option<String>, Option<String>, Option<String>) {
        let h = parse_lenient(text, Some(Role::Assistant), &mut Vec::new());
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
        let (h, body) = split_unterminated("assistant<|channel|>final {\"answer\": 1}", None, &mut repairs);
        assert_eq!((h.channel.as_deref(), body.as_str()), (Some("final"), "{\"answer\": 1}"));
        let (h, body) = split_unterminated("I can't help with that.", Some(Role::Assistant), &mut repairs);
        assert_eq!((h.author.role, h.channel, body.as_str()), (Role::Assistant, None, "I can't help with that."));
    }
}
