//! The recorded reference vectors (`../shared/vectors/public`): every render
//! and tokenizer case must match exactly, errors included. When the vectors
//! are absent the tests say so and pass without checking.

use std::str::FromStr;

use openai_harmony::chat::{Conversation, Role};
use openai_harmony::{HarmonyEncoding, Rank, RenderConversationConfig};
use serde_json::Value;

use crate::common::enc;

use crate::common::tokens_of;

fn render_case(enc: &HarmonyEncoding, v: &Value) -> Result<Vec<Rank>, String> {
    let convo: Conversation = serde_json::from_value(v["conversation"].clone()).map_err(|e| e.to_string())?;
    let config = v["auto_drop_analysis"].as_bool().map(|b| RenderConversationConfig { auto_drop_analysis: b });
    let result = match v["op"].as_str() {
        Some("completion") => {
            let role = Role::from_str(v["next_turn_role"].as_str().unwrap_or("")).map_err(|e| e.to_string())?;
            enc.render_conversation_for_completion(&convo, role, config.as_ref())
        }
        Some("conversation") => enc.render_conversation(&convo, config.as_ref()),
        Some("training") => enc.render_conversation_for_training(&convo, config.as_ref()),
        other => panic!("unknown render op {other:?}"),
    };
    result.map_err(|e| e.to_string())
}

#[test]
fn render_vectors() {
    let Some(vectors) = crate::common::read_vectors("render.jsonl") else {
        return;
    };
    let enc = enc();
    let mut failures = Vec::new();
    for v in &vectors {
        let id = v["id"].as_str().unwrap_or("?");
        let got = render_case(&enc, v);
        let expected = &v["expected"];
        let problem = match (&got, expected.get("ok"), expected.get("error").and_then(Value::as_str)) {
            (Ok(tokens), Some(want), _) => {
                let want = tokens_of(want);
                if *tokens == want {
                    None
                } else {
                    let want_text = expected["text"].as_str().unwrap_or("");
                    let got_text = enc.decode_utf8(tokens).unwrap_or_default();
                    if got_text == want_text {
                        Some("same text, different token boundaries".to_string())
                    } else {
                        Some(crate::common::first_difference(want_text, &got_text))
                    }
                }
            }
            (Err(e), _, Some(want)) if crate::common::same_error(want, e) => None,
            (Err(e), _, Some(want)) => Some(format!("error text differs: want {want:?}, got {e:?}")),
            (Ok(_), _, Some(want)) => Some(format!("expected error {want:?}, rendered fine")),
            (Err(e), _, None) => Some(format!("unexpected error {e}")),
            (Ok(_), None, None) => Some("vector has neither ok nor error".to_string()),
        };
        if let Some(p) = problem {
            failures.push(format!("{id}: {p}"));
        }
    }
    let shown: Vec<&String> = failures.iter().take(8).collect();
    assert!(
        failures.is_empty(),
        "{} of {} render vectors failed:\n{}",
        failures.len(),
        vectors.len(),
        shown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n")
    );
    crate::common::report(&format!("render.jsonl: {} vectors, all passed", vectors.len()));
}

#[test]
fn tokenizer_vectors() {
    let Some(vectors) = crate::common::read_vectors("tokenizer.jsonl") else {
        return;
    };
    let enc = enc();
    let tok = enc.tokenizer();
    let mut failures = Vec::new();
    for v in &vectors {
        let id = v["id"].as_str().unwrap_or("?");
        let got: Result<Value, String> = match v["op"].as_str() {
            Some("encode") => tok
                .encode_checked(
                    v["text"].as_str().unwrap_or(""),
                    openai_harmony::SpecialTokenSet::None,
                    openai_harmony::SpecialTokenSet::All,
                )
                .map(|t| serde_json::json!(t))
                .map_err(|e| e.to_string()),
            Some("encode_all") => {
                Ok(serde_json::json!(tok.encode_with_special_tokens(v["text"].as_str().unwrap_or(""))))
            }
            Some("decode") => tok
                .decode_bytes(&tokens_of(&v["tokens"]))
                .map(|b| Value::String(String::from_utf8_lossy(&b).into_owned()))
                .map_err(|e| e.to_string()),
            Some("decode_utf8") => {
                tok.decode_utf8(&tokens_of(&v["tokens"])).map(Value::String).map_err(|e| e.to_string())
            }
            Some("is_special") => {
                let t = v["token"].as_u64().and_then(|t| Rank::try_from(t).ok()).unwrap_or(Rank::MAX);
                Ok(Value::Bool(tok.is_special_token(t)))
            }
            other => panic!("unknown tokenizer op {other:?}"),
        };
        let expected = &v["expected"];
        let ok = match (&got, expected.get("ok"), expected.get("error").and_then(Value::as_str)) {
            (Ok(g), Some(w), _) => g == w,
            (Err(e), _, Some(w)) => crate::common::same_error(w, e),
            _ => false,
        };
        if !ok {
            failures.push(format!("{id} ({}): want {expected}, got {got:?}", v["op"]));
        }
    }
    assert!(failures.is_empty(), "{} tokenizer vectors failed:\n{}", failures.len(), failures.join("\n"));
    crate::common::report(&format!("tokenizer.jsonl: {} vectors, all passed", vectors.len()));
}
