//! The recorded parse and stream vectors (`../shared/vectors/public`).

mod common;

use std::str::FromStr;

use openai_harmony::chat::Role;
use openai_harmony::{load_harmony_encoding, HarmonyEncoding, HarmonyEncodingName, Rank, StreamableParser};
use serde_json::{json, Value};

fn enc() -> HarmonyEncoding {
    load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss).expect("encoding loads")
}

fn tokens_of(v: &Value) -> Vec<Rank> {
    v.as_array()
        .expect("token list")
        .iter()
        .map(|t| t.as_u64().and_then(|t| Rank::try_from(t).ok()).unwrap_or(Rank::MAX))
        .collect()
}

fn role_of(v: &Value) -> Option<Role> {
    v["role"].as_str().map(|r| Role::from_str(r).expect("vector role"))
}

/// `check.py`'s `clean`: drop nulls so equal messages compare equal.
fn clean(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), clean(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(clean).collect()),
        other => other.clone(),
    }
}

fn outcome(r: Result<Vec<openai_harmony::chat::Message>, openai_harmony::HarmonyError>) -> Value {
    match r {
        Ok(m) => json!({"ok": clean(&serde_json::to_value(m).expect("serializes"))}),
        Err(e) => json!({"error": e.to_string()}),
    }
}

fn run_parse(enc: &HarmonyEncoding, v: &Value) -> Value {
    outcome(enc.parse_messages_from_completion_tokens(
        tokens_of(&v["tokens"]),
        role_of(v),
        v["strict"].as_bool().unwrap_or(true),
    ))
}

fn step_of(p: &StreamableParser) -> Value {
    json!([
        p.last_content_delta(),
        p.current_channel(),
        p.current_recipient(),
        p.current_content_type(),
        p.current_role().map(|r| r.as_str()),
        p.state().as_str(),
        p.messages().len()
    ])
}

/// Runs a stream vector; returns a description of the first difference.
fn run_stream(enc: &HarmonyEncoding, v: &Value) -> Option<String> {
    let mut p = StreamableParser::new(enc.clone(), role_of(v)).strict(v["strict"].as_bool().unwrap_or(true));
    let steps = v["steps"].as_array().expect("steps");
    for (i, t) in tokens_of(&v["tokens"]).into_iter().enumerate() {
        if let Err(e) = p.process(t) {
            let want = &v["error"];
            if want.is_null() || want["at"].as_u64() != Some(i as u64) {
                return Some(format!("step {i}: unexpected error {e}"));
            }
            if !common::same_error(want["error"].as_str().unwrap_or(""), &e.to_string()) {
                return Some(format!("step {i}: error {e} instead of {}", want["error"]));
            }
            return None;
        }
        let got = step_of(&p);
        match steps.get(i) {
            Some(want) if *want == got => {}
            Some(want) => return Some(format!("step {i} (token {t}): want {want} got {got}")),
            None => return Some(format!("step {i}: want error {} got {got}", v["error"])),
        }
    }
    if !v["error"].is_null() {
        return Some(format!("expected error {} got none", v["error"]));
    }
    if p.current_content() != v["current_content"].as_str().unwrap_or("") {
        return Some(format!("current_content want {} got {:?}", v["current_content"], p.current_content()));
    }
    let fin = outcome(p.process_eos().map(|p| p.messages().to_vec()));
    compare(&v["final"], &fin)
}

fn compare(want: &Value, got: &Value) -> Option<String> {
    if let Some(err) = want.get("error").and_then(Value::as_str) {
        return match got.get("error").and_then(Value::as_str) {
            Some(e) if common::same_error(err, e) => None,
            Some(e) => Some(format!("error {e:?} instead of {err:?}")),
            None => Some(format!("want error {err:?} got {}", got["ok"])),
        };
    }
    if got.get("ok") == Some(&clean(&want["ok"])) {
        None
    } else {
        Some(format!("want {}\n   got {got}", clean(want)))
    }
}

#[test]
fn explore() {
    let enc = enc();
    for (file, stream) in [("parse.jsonl", false), ("stream.jsonl", true)] {
        let Some(vectors) = common::read_vectors(file) else { return };
        for v in &vectors {
            let problem = if stream { run_stream(&enc, v) } else { compare(&v["expected"], &run_parse(&enc, v)) };
            if let Some(p) = problem {
                let muts = v["mutations"].as_array().map_or(0, Vec::len);
                println!("FAIL {} strict={} mutated={} role={}: {}", v["id"], v["strict"], muts > 0, v["role"], p);
            }
        }
    }
}
