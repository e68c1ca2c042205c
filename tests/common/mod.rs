//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::PathBuf;

use openai_harmony::{load_harmony_encoding, HarmonyEncoding, HarmonyEncodingName, Rank};
use serde_json::Value;

/// The gpt-oss encoding.
pub fn enc() -> HarmonyEncoding {
    load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss).expect("encoding loads")
}

/// A JSON list of token ids (an id that does not fit becomes `Rank::MAX`).
pub fn tokens_of(v: &Value) -> Vec<Rank> {
    v.as_array()
        .expect("token list")
        .iter()
        .map(|t| t.as_u64().and_then(|t| Rank::try_from(t).ok()).unwrap_or(Rank::MAX))
        .collect()
}

/// The directory of the recorded vectors: `$HARMONY_VECTORS_DIR`, or
/// `../shared/vectors/public` beside the crate.
pub fn vectors_dir() -> PathBuf {
    match std::env::var_os("HARMONY_VECTORS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/public"),
    }
}

/// Reads a JSON-lines file of vectors, or returns `None` (after saying so)
/// when it is absent.
pub fn read_vectors(name: &str) -> Option<Vec<Value>> {
    let path = vectors_dir().join(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) if std::env::var_os("HARMONY_REQUIRE_VECTORS").is_some() => {
            panic!("{} not found and HARMONY_REQUIRE_VECTORS is set", path.display())
        }
        Err(_) => {
            report(&format!("{name}: SKIPPED, {} not found (set HARMONY_VECTORS_DIR)", path.display()));
            return None;
        }
    };
    Some(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad vector line in {name}: {e}")))
            .collect(),
    )
}

/// The cases of a fixture file in `test-data/` (every file there is
/// `{"about": …, "cases": [{"name": …, "about": …, …}]}`, read the same way
/// by pytest's `conftest.load_cases`).
pub fn fixture_cases(relative: &str) -> Vec<Value> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data");
    let path = root.join(relative);
    let read = |path: &std::path::Path| -> Value {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let doc = read(&path);
    assert!(doc["about"].is_string(), "{} has no \"about\"", path.display());
    let cases = doc["cases"].as_array().unwrap_or_else(|| panic!("{} has no \"cases\" list", path.display()));
    let schema = read(&root.join("schema.json"));
    let spec = schema.get(relative).unwrap_or_else(|| panic!("test-data/schema.json does not describe {relative}"));
    let keys = |name: &str| -> Vec<&str> {
        spec[name].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
    };
    let (required, optional) = (keys("required"), keys("optional"));
    for case in cases {
        let name = case["name"].as_str().unwrap_or_else(|| panic!("a case of {} has no \"name\"", path.display()));
        let fields = case.as_object().unwrap_or_else(|| panic!("{relative}: case {name} is not an object"));
        for key in fields.keys() {
            assert!(
                required.contains(&key.as_str()) || optional.contains(&key.as_str()),
                "{relative}: case {name} has the key {key:?}, which test-data/schema.json does not allow"
            );
        }
        for key in &required {
            assert!(fields.contains_key(*key), "{relative}: case {name} lacks the required key {key:?}");
        }
        if let Some(values) = spec.get("values").and_then(Value::as_object) {
            for (key, allowed) in values {
                if let Some(value) = fields.get(key) {
                    let allowed = allowed.as_array().expect("a list of values");
                    assert!(
                        allowed.contains(value),
                        "{relative}: case {name}: {key} = {value} is not one of {allowed:?}"
                    );
                }
            }
        }
    }
    cases.clone()
}

/// Records a line of the vector summary: `make rust-test` prints the file
/// after the tests, since cargo hides what passing tests print.
pub fn report(line: &str) {
    use std::io::Write;
    eprintln!("{line}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("vector-report.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(f, "{line}");
    }
}

/// The loose error comparison of `check.py`: the reference message, minus
/// its `Type: ` prefix and cut to 40 characters, must appear in ours.
pub fn same_error(reference: &str, ours: &str) -> bool {
    let msg = reference.split_once(": ").map_or(reference, |(_, m)| m);
    let msg: String = msg.chars().take(40).collect();
    ours.to_lowercase().contains(&msg.to_lowercase())
}

/// Where two strings first differ, with some context, for failure reports.
pub fn first_difference(want: &str, got: &str) -> String {
    let w: Vec<char> = want.chars().collect();
    let g: Vec<char> = got.chars().collect();
    let i = w.iter().zip(&g).take_while(|(a, b)| a == b).count();
    let from = i.saturating_sub(80);
    let want_ctx: String = w[from..(i + 80).min(w.len())].iter().collect();
    let got_ctx: String = g[from..(i + 80).min(g.len())].iter().collect();
    format!("first difference at char {i}\n  want: {want_ctx:?}\n  got:  {got_ctx:?}")
}
