//! Property tests for interop: any JSON request converts or gets an
//! `InvalidRequest` error (never a panic), and the streams accept any token
//! sequence.

use crate::common::enc;
use openai_harmony::interop::{
    chat_tool_names, conversation_from_chat_completions, conversation_from_responses, ChatCompletionStream,
    ConversionOptions, ResponsesStream, ToolNames,
};
use openai_harmony::HarmonyError;
use proptest::prelude::*;
use serde_json::{json, Value};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// JSON built from the words requests use, so that many values get deep
/// into the conversion before failing (or succeed).
fn json_value() -> impl Strategy<Value = Value> {
    let word = prop_oneof![
        Just("role"),
        Just("content"),
        Just("user"),
        Just("assistant"),
        Just("tool"),
        Just("system"),
        Just("developer"),
        Just("tool_calls"),
        Just("tool_call_id"),
        Just("id"),
        Just("function"),
        Just("name"),
        Just("arguments"),
        Just("type"),
        Just("text"),
        Just("messages"),
        Just("tools"),
        Just("input"),
        Just("function_call"),
        Just("function_call_output"),
        Just("call_id"),
        Just("output"),
        Just("reasoning"),
        Just("message"),
        Just("{}"),
        Just("{\"a\":1}"),
        Just("a-b"),
        Just("x"),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        word.clone().prop_map(|w| json!(w)),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((word.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

fn ok_or_invalid<T>(result: Result<T, HarmonyError>) -> Result<(), TestCaseError> {
    match result {
        Ok(_) | Err(HarmonyError::InvalidRequest { .. }) => Ok(()),
        Err(other) => Err(TestCaseError::fail(format!("unexpected error kind: {other}"))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(500), ..ProptestConfig::default() })]

    #[test]
    fn any_chat_request_converts_or_is_invalid(messages in json_value(), tools in json_value()) {
        let opts = ConversionOptions { conversation_start_date: Some("2026-01-01".into()) };
        for request in [json!({"messages": messages.clone(), "tools": tools.clone()}), json!({"messages": [messages.clone()]}), messages.clone()] {
            ok_or_invalid(conversation_from_chat_completions(&request, &opts))?;
            ok_or_invalid(chat_tool_names(&request))?;
            ok_or_invalid(enc().prompt_for_chat_completions(&request, &opts))?;
        }
    }

    #[test]
    fn any_responses_request_converts_or_is_invalid(input in json_value(), previous in prop::collection::vec(json_value(), 0..3)) {
        let opts = ConversionOptions::default();
        for request in [json!({"input": input.clone()}), json!({"input": [input.clone()]}), input.clone()] {
            ok_or_invalid(conversation_from_responses(&request, Some(&previous), &opts))?;
        }
    }

    #[test]
    fn streams_take_any_tokens(tokens in prop::collection::vec(prop_oneof![199_990u32..201_100, 0u32..1000, Just(u32::MAX)], 0..60)) {
        let enc = enc();
        let mut chat = ChatCompletionStream::new(enc.clone(), ToolNames::new(), "m");
        let mut responses = ResponsesStream::new(enc, ToolNames::new(), "m", None);
        let mut events = responses.start();
        for &t in &tokens {
            prop_assert!(chat.process(t).is_ok());
            events.extend(responses.process(t).expect("lenient"));
        }
        let chunks = chat.finish(None).expect("finishes");
        prop_assert!(chunks.last().is_some_and(|c| c["choices"][0]["finish_reason"].is_string()));
        events.extend(responses.finish(None).expect("finishes"));
        for (i, e) in events.iter().enumerate() {
            prop_assert_eq!(&e["sequence_number"], &json!(i));
        }
        let last = events.last().and_then(|e| e["type"].as_str()).unwrap_or("");
        prop_assert!(last == "response.completed" || last == "response.incomplete");
    }
}
