//! The lenient-parsing fixtures of `test-data/parse/lenient.json`, shared
//! with the Python tests. Each case is a completion written as text with
//! special tokens, the role given to the parser, the messages lenient
//! parsing must give, the kinds of repair it must report, and optionally
//! what strict parsing gives (`"same"` messages, or `"error: TEXT"`).

use std::collections::BTreeSet;
use std::str::FromStr;

use openai_harmony::chat::{Message, Role};
use openai_harmony::{HarmonyEncoding, ParseEvent, StreamableParser};
use serde_json::Value;

use crate::common::enc;

fn cases() -> Vec<Value> {
    crate::common::fixture_cases("parse/lenient.json")
}

fn check_case(enc: &HarmonyEncoding, case: &Value) -> Result<(), String> {
    let role = case["role"].as_str().map(|r| Role::from_str(r).expect("role"));
    let tokens = enc.encode_with_special_tokens(case["completion"].as_str().expect("completion"));
    let want: Vec<Message> = serde_json::from_value(case["messages"].clone()).map_err(|e| e.to_string())?;

    let got = enc.parse_completion(tokens.iter().copied(), role, false).map_err(|e| format!("lenient raised {e}"))?;
    if got.messages != want {
        return Err(format!("lenient messages\n  want {want:?}\n  got  {:?}", got.messages));
    }
    let kinds: BTreeSet<String> = got
        .diagnostics
        .iter()
        .map(|d| serde_json::to_value(d.kind).expect("kind").as_str().unwrap_or("").to_string())
        .collect();
    let want_kinds: BTreeSet<String> = case["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|k| k.as_str().map(String::from))
        .collect();
    if kinds != want_kinds {
        return Err(format!("diagnostic kinds: want {want_kinds:?} got {kinds:?} ({:?})", got.diagnostics));
    }
    if got.diagnostics.iter().any(|d| d.position > tokens.len()) {
        return Err("a diagnostic points past the end".into());
    }

    // Streaming gives the same messages, and the events add up to them.
    let mut parser = StreamableParser::new(enc.clone(), role).strict(false);
    let mut texts: Vec<String> = Vec::new();
    let mut completed = 0;
    for &t in &tokens {
        parser.process(t).map_err(|e| e.to_string())?;
        collect(&mut parser, &mut texts, &mut completed);
    }
    parser.process_eos().map_err(|e| e.to_string())?;
    collect(&mut parser, &mut texts, &mut completed);
    let contents: Vec<String> = want.iter().map(text_of).collect();
    if texts != contents || completed != want.len() {
        return Err(format!("events: deltas {texts:?}, {completed} completed"));
    }

    match case.get("strict").and_then(Value::as_str) {
        None => {}
        Some("same") => {
            let strict =
                enc.parse_messages_from_completion_tokens(tokens, role, true).map_err(|e| format!("strict: {e}"))?;
            if strict != want {
                return Err(format!("strict messages differ: {strict:?}"));
            }
        }
        Some(s) if s.starts_with("messages: ") => {
            // Strict reads more messages (the lenient ones, then the rest).
            let count: usize = s["messages: ".len()..].parse().expect("`messages: N`");
            let strict =
                enc.parse_messages_from_completion_tokens(tokens, role, true).map_err(|e| format!("strict: {e}"))?;
            if strict.len() != count || strict.get(..want.len()) != Some(&want[..]) {
                return Err(format!("strict: want {count} messages starting with the lenient ones, got {strict:?}"));
            }
        }
        Some(s) => {
            let text = s.strip_prefix("error: ").expect("`same`, `messages: N` or `error: TEXT`");
            match enc.parse_messages_from_completion_tokens(tokens, role, true) {
                Err(e) if e.to_string().contains(text) => {}
                other => return Err(format!("strict: want error {text:?}, got {other:?}")),
            }
        }
    }
    Ok(())
}

fn collect(parser: &mut StreamableParser, texts: &mut Vec<String>, completed: &mut usize) {
    for event in parser.drain_events() {
        match event {
            ParseEvent::MessageStarted { index, .. } => {
                assert_eq!(index, texts.len());
                texts.push(String::new());
            }
            ParseEvent::ContentDelta { index, text } => texts[index].push_str(&text),
            ParseEvent::MessageCompleted { .. } => *completed += 1,
        }
    }
}

fn text_of(m: &Message) -> String {
    m.content
        .iter()
        .map(|c| match c {
            openai_harmony::chat::Content::Text(t) => t.text.clone(),
            _ => String::new(),
        })
        .collect()
}

#[test]
fn lenient_fixtures() {
    let enc = enc();
    let cases = cases();
    assert!(cases.len() >= 20, "the fixture file lists the repairs the parser promises");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| check_case(&enc, c).err().map(|e| format!("{}: {e}", c["name"].as_str().unwrap_or("?"))))
        .collect();
    assert!(failures.is_empty(), "{} of {} fixtures fail:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
