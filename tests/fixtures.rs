//! The project's own render fixtures (`test-data/render/cases.json`): each
//! case names a conversation, how to render it, and either the expected
//! prompt text (`test-data/render/NAME.txt`) or the expected error. The same
//! files are read by the Python tests.
//!
//! `HARMONY_BLESS=1 cargo test --test fixtures` rewrites the `.txt` files
//! from the current output; review the diff before committing it.

use std::path::PathBuf;
use std::str::FromStr;

use openai_harmony::chat::{Conversation, Role, SystemContent, ToolNamespaceConfig};
use openai_harmony::{load_harmony_encoding, HarmonyEncoding, HarmonyEncodingName, RenderConversationConfig};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-data/render")
}

fn cases() -> Vec<Value> {
    crate::common::fixture_cases("render/cases.json")
}

fn render(enc: &HarmonyEncoding, case: &Value) -> Result<String, String> {
    let convo: Conversation = serde_json::from_value(case["conversation"].clone()).map_err(|e| e.to_string())?;
    let config = case["auto_drop_analysis"].as_bool().map(|b| RenderConversationConfig { auto_drop_analysis: b });
    let tokens = match case["op"].as_str() {
        Some("completion") => {
            let role =
                Role::from_str(case["next_turn_role"].as_str().unwrap_or("assistant")).map_err(|e| e.to_string())?;
            enc.render_conversation_for_completion(&convo, role, config.as_ref())
        }
        Some("training") => enc.render_conversation_for_training(&convo, config.as_ref()),
        Some("conversation") => enc.render_conversation(&convo, config.as_ref()),
        other => return Err(format!("unknown op {other:?}")),
    }
    .map_err(|e| e.to_string())?;
    enc.decode_utf8(&tokens).map_err(|e| e.to_string())
}

#[test]
fn render_fixtures() {
    let enc = load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss).expect("encoding loads");
    let bless = std::env::var_os("HARMONY_BLESS").is_some();
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() >= 10, "fixtures went missing");
    for case in &cases {
        let name = case["name"].as_str().expect("case name");
        let got = render(&enc, case);
        match (case.get("error").and_then(Value::as_str), got) {
            (Some(want), Err(e)) if e.starts_with(want) => {}
            (Some(want), other) => failures.push(format!("{name}: want error {want:?}, got {other:?}")),
            (None, Err(e)) => failures.push(format!("{name}: unexpected error {e}")),
            (None, Ok(text)) => {
                let path = dir().join(format!("{name}.txt"));
                if bless {
                    std::fs::write(&path, &text).expect("write fixture");
                    continue;
                }
                let want = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
                if want != text {
                    failures.push(format!("{name}: {}", crate::common::first_difference(&want, &text)));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} fixtures failed:\n{}", failures.len(), failures.join("\n"));
}

/// The built-in namespaces are pinned by the `browser_and_python` fixture.
#[test]
fn builtin_tools_match_fixture() {
    let case = cases().into_iter().find(|c| c["name"] == "browser_and_python").expect("fixture");
    let tools = &case["conversation"]["messages"][0]["content"][0]["tools"];
    let ours = SystemContent::new().with_browser_tool().with_python_tool().tools;
    assert_eq!(serde_json::to_value(ours).expect("serializes"), *tools);
    assert_eq!(serde_json::to_value(ToolNamespaceConfig::browser()).expect("serializes"), tools["browser"]);
}
