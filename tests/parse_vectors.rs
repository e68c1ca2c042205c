//! The recorded parse and stream vectors (`../shared/vectors/public`):
//! every case matches the reference exactly, or is a deviation listed in
//! `test-data/deviations.md` and checked here to differ in exactly that way.

use std::str::FromStr;

use openai_harmony::chat::Role;
use openai_harmony::{HarmonyEncoding, StreamableParser};
use serde_json::{json, Value};

use crate::common::enc;

use crate::common::tokens_of;

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

fn run_parse(enc: &HarmonyEncoding, v: &Value) -> (Value, Vec<openai_harmony::Diagnostic>) {
    match enc.parse_completion(tokens_of(&v["tokens"]), role_of(v), v["strict"].as_bool().unwrap_or(true)) {
        Ok(p) => (outcome(Ok(p.messages)), p.diagnostics),
        Err(e) => (outcome(Err(e)), Vec::new()),
    }
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

/// Deviation 1 of `test-data/deviations.md`: a lone `<|constrain|>…` header
/// part is the content type, not the recipient: on the final channel in both
/// modes, on every channel in lenient mode. Applied to a reference message
/// (object) or stream step (array).
fn fix_constrain(v: &Value, strict: bool) -> Value {
    let applies = |channel: Option<&Value>| !strict || channel.and_then(Value::as_str) == Some("final");
    match v {
        Value::Object(m) => {
            let mut m: serde_json::Map<String, Value> =
                m.iter().map(|(k, v)| (k.clone(), fix_constrain(v, strict))).collect();
            let marker = m.get("recipient").and_then(Value::as_str).is_some_and(|r| r.starts_with("<|constrain|>"));
            if marker && m.get("content_type").is_none_or(Value::is_null) && applies(m.get("channel")) {
                let r = m.remove("recipient").unwrap_or(Value::Null);
                m.insert("recipient".into(), Value::Null);
                m.insert("content_type".into(), r);
            }
            Value::Object(m)
        }
        Value::Array(a) if a.len() == 7 && a[5].is_string() => {
            let mut a = a.clone();
            if a[2].as_str().is_some_and(|r| r.starts_with("<|constrain|>")) && a[3].is_null() && applies(a.get(1)) {
                a.swap(2, 3);
            }
            Value::Array(a)
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| fix_constrain(v, strict)).collect()),
        other => other.clone(),
    }
}

/// How a vector came out.
enum Verdict {
    /// Exactly the reference.
    Same,
    /// A listed deviation, checked: `constrain` (deviation 1) or `never_raises` (deviation 2).
    Deviates(&'static str),
    /// Wrong.
    Fails(String),
}

/// Deviation 3 of `test-data/deviations.md`: in lenient mode a completion's
/// turn ends at `<|return|>` (or `<|call|>`, with a role given); the tokens
/// after it are ignored. Whether `got` is the reference's `want` cut there:
/// we noted the turn end, and our messages are the first of the reference's.
fn cut_at_turn_end(want: &Value, got: &Value, diagnostics: &[openai_harmony::Diagnostic]) -> bool {
    let ended = diagnostics.iter().any(|d| d.kind == openai_harmony::DiagnosticKind::AfterStop);
    let (Some(want), Some(got)) = (want["ok"].as_array(), got["ok"].as_array()) else { return false };
    ended && got.len() < want.len() && want[..got.len()].iter().map(clean).eq(got.iter().cloned())
}

/// Runs a stream vector against expected steps; returns the first difference.
/// A lenient stream that ends the turn early (deviation 3) stops being
/// compared step by step at the ignored tokens; its messages must be the
/// reference's first ones, and it is reported as `Some("turn_end")`.
fn run_stream(
    enc: &HarmonyEncoding,
    v: &Value,
    steps: &[Value],
    error: &Value,
    fin: &Value,
) -> Result<Option<&'static str>, String> {
    run_stream_inner(enc, v, steps, error, fin).map_or(Ok(None), |r| r)
}

fn run_stream_inner(
    enc: &HarmonyEncoding,
    v: &Value,
    steps: &[Value],
    error: &Value,
    fin: &Value,
) -> Option<Result<Option<&'static str>, String>> {
    let fail = |s: String| Some(Err(s));
    let strict = v["strict"].as_bool().unwrap_or(true);
    let mut p = StreamableParser::new(enc.clone(), role_of(v)).strict(strict);
    // Deviation 2: where the reference raises in lenient mode we go on; the
    // steps before the error must still match.
    let lenient_past_error = !strict && !error.is_null();
    for (i, t) in tokens_of(&v["tokens"]).into_iter().enumerate() {
        if lenient_past_error && error["at"].as_u64() == Some(i as u64) {
            return p.process(t).err().map(|e| Err(format!("lenient parser raised {e}")));
        }
        if let Err(e) = p.process(t) {
            if error.is_null() || error["at"].as_u64() != Some(i as u64) {
                return fail(format!("step {i}: unexpected error {e}"));
            }
            if !crate::common::same_error(error["error"].as_str().unwrap_or(""), &e.to_string()) {
                return fail(format!("step {i}: error {e} instead of {}", error["error"]));
            }
            return None;
        }
        if !strict && p.diagnostics().iter().any(|d| d.kind == openai_harmony::DiagnosticKind::AfterStop) {
            let got = outcome(p.process_eos().map(|p| p.messages().to_vec()));
            return if cut_at_turn_end(fin, &got, p.diagnostics()) {
                Some(Ok(Some("turn_end")))
            } else {
                fail(format!("step {i}: the turn ended, but {got} is not the start of {fin}"))
            };
        }
        let got = step_of(&p);
        match steps.get(i) {
            Some(want) if *want == got => {}
            Some(want) => return fail(format!("step {i} (token {t}): want {want} got {got}")),
            None => return fail(format!("step {i}: want error {error} got {got}")),
        }
    }
    if !error.is_null() {
        return fail(format!("expected error {error} got none"));
    }
    if p.current_content() != v["current_content"].as_str().unwrap_or("") {
        return fail(format!("current_content want {} got {:?}", v["current_content"], p.current_content()));
    }
    let got = outcome(p.process_eos().map(|p| p.messages().to_vec()));
    if !strict && fin.get("error").is_some() {
        return got.get("error").map(|e| Err(format!("lenient parser raised {e} at end of stream")));
    }
    compare(fin, &got).map(Err)
}

fn compare(want: &Value, got: &Value) -> Option<String> {
    if let Some(err) = want.get("error").and_then(Value::as_str) {
        return match got.get("error").and_then(Value::as_str) {
            Some(e) if crate::common::same_error(err, e) => None,
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

fn judge_parse(enc: &HarmonyEncoding, v: &Value) -> Verdict {
    let (got, diagnostics) = run_parse(enc, v);
    let want = &v["expected"];
    if want.get("error").is_some() && v["strict"] == json!(false) {
        return match got.get("error") {
            None => Verdict::Deviates("never_raises"),
            Some(e) => Verdict::Fails(format!("lenient parser raised {e}")),
        };
    }
    let fixed = fix_constrain(want, v["strict"] != json!(false));
    match compare(&fixed, &got) {
        Some(_) if v["strict"] == json!(false) && cut_at_turn_end(&fixed, &got, &diagnostics) => {
            Verdict::Deviates("turn_end")
        }
        Some(problem) => Verdict::Fails(problem),
        None if fixed != *want => Verdict::Deviates("constrain"),
        None => Verdict::Same,
    }
}

fn judge_stream(enc: &HarmonyEncoding, v: &Value) -> Verdict {
    let strict = v["strict"] != json!(false);
    let steps: Vec<Value> = v["steps"].as_array().expect("steps").iter().map(|s| fix_constrain(s, strict)).collect();
    let fin = fix_constrain(&v["final"], strict);
    match run_stream(enc, v, &steps, &v["error"], &fin) {
        Err(problem) => return Verdict::Fails(problem),
        Ok(Some(kind)) => return Verdict::Deviates(kind),
        Ok(None) => {}
    }
    let raises = !v["error"].is_null() || v["final"].get("error").is_some();
    if raises && v["strict"] == json!(false) {
        Verdict::Deviates("never_raises")
    } else if steps != *v["steps"].as_array().expect("steps") || fin != v["final"] {
        Verdict::Deviates("constrain")
    } else {
        Verdict::Same
    }
}

/// The vector ids listed under a deviation in `test-data/deviations.md`
/// (the line after its `<!-- vectors: NAME -->` marker).
fn listed(name: &str) -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/test-data/deviations.md");
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    let marker = format!("<!-- vectors: {name} -->");
    let line = doc.lines().skip_while(|l| l.trim() != marker).nth(1).unwrap_or("");
    let mut ids: Vec<String> =
        line.split(',').map(|s| s.trim().trim_matches('`').to_string()).filter(|s| !s.is_empty()).collect();
    ids.sort();
    ids
}

#[test]
fn parse_and_stream_vectors() {
    let enc = enc();
    let mut failures = Vec::new();
    let mut deviations: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    let mut counts = [0usize; 3];
    for (file, stream) in [("parse.jsonl", false), ("stream.jsonl", true)] {
        let Some(vectors) = crate::common::read_vectors(file) else { return };
        for v in &vectors {
            let id = v["id"].as_str().unwrap_or("?").to_string();
            match if stream { judge_stream(&enc, v) } else { judge_parse(&enc, v) } {
                Verdict::Same => counts[0] += 1,
                Verdict::Deviates(kind) => {
                    counts[1] += 1;
                    deviations.entry(kind).or_default().push(id);
                }
                Verdict::Fails(problem) => {
                    counts[2] += 1;
                    failures.push(format!("{id} (strict={}, mutations={}): {problem}", v["strict"], v["mutations"]));
                }
            }
        }
    }
    crate::common::report(&format!(
        "parse.jsonl + stream.jsonl: {} vectors, {} as the reference, {} documented deviations, {} failures",
        counts[0] + counts[1] + counts[2],
        counts[0],
        counts[1],
        counts[2]
    ));
    assert!(failures.is_empty(), "{} vectors fail:\n{}", failures.len(), failures.join("\n"));
    for kind in ["constrain", "never_raises", "turn_end"] {
        let mut found = deviations.get(kind).cloned().unwrap_or_default();
        found.sort();
        println!("{kind}: {}", found.join(", "));
    }
    for kind in ["constrain", "never_raises", "turn_end"] {
        let mut found = deviations.remove(kind).unwrap_or_default();
        found.sort();
        assert_eq!(
            found,
            listed(kind),
            "the `{kind}` list in test-data/deviations.md must name exactly the deviating vectors"
        );
    }
}
