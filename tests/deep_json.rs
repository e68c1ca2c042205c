//! Deeply nested JSON from a client never overflows the stack: where the
//! core reads it into values (the conversation JSON) it is an error; where
//! it only checks or skips it (tool-call arguments, unknown fields, what
//! the model writes as arguments) it is valid JSON like any other. Schemas
//! as deep as the JSON reader allows render.

use openai_harmony::chat::{Conversation, Message, Role};
use openai_harmony::interop::{response_output_from_harmony, ConversionOptions, ToolNames};
use openai_harmony::{load_harmony_encoding, HarmonyEncodingName};
use serde_json::{json, Value};

const DEEP: usize = 100_000;

fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// Nested arrays with spaces, so that rendering them as text does not make
/// one long pre-tokenizer piece (the tokenizer's own cost is not tested here).
fn spaced_arrays(depth: usize) -> String {
    format!("{}{}", "[ ".repeat(depth), "] ".repeat(depth))
}

#[test]
fn deep_conversation_json_is_an_error() {
    let deep = nested_arrays(DEEP);
    let in_parameters = format!(
        r#"{{"messages": [{{"role": "developer", "content": [{{"type": "developer_content", "tools": {{"functions": {{"name": "functions", "tools": [{{"name": "f", "description": "", "parameters": {deep}}}]}}}}}}]}}]}}"#
    );
    let in_unknown_field = format!(r#"{{"messages": [{{"role": "user", "content": "hi", "extra": {deep}}}]}}"#);
    let as_content = format!(r#"{{"messages": [{{"role": "user", "content": {deep}}}]}}"#);
    assert!(Conversation::from_json(&in_parameters).is_err());
    assert!(Conversation::from_json(&as_content).is_err());
    // Unknown fields are skipped without building values.
    assert!(Conversation::from_json(&in_unknown_field).is_ok_and(|c| c.messages.len() == 1));
}

#[test]
fn deep_tool_call_arguments_are_checked_without_recursion() {
    let enc = load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss).expect("encoding loads");
    let options = ConversionOptions::default();
    let call =
        |arguments: String| json!({"id": "c1", "type": "function", "function": {"name": "f", "arguments": arguments}});
    let chat = |arguments: String| json!({"messages": [{"role": "assistant", "tool_calls": [call(arguments)]}]});
    let item =
        |arguments: String| json!({"type": "function_call", "call_id": "c1", "name": "f", "arguments": arguments});
    let responses = |arguments: String| json!({"input": [item(arguments)]});

    let prompt = enc.prompt_for_chat_completions(&chat(spaced_arrays(DEEP)), &options);
    assert!(prompt.is_ok_and(|p| !p.tokens.is_empty()));
    let prompt = enc.prompt_for_responses(&responses(spaced_arrays(DEEP)), None, &options);
    assert!(prompt.is_ok_and(|p| !p.tokens.is_empty()));
    // Unbalanced: not JSON, however deep.
    let unbalanced = "[".repeat(DEEP);
    let err = enc.prompt_for_chat_completions(&chat(unbalanced.clone()), &options);
    assert!(matches!(err, Err(openai_harmony::HarmonyError::InvalidRequest { .. })));
    let err = enc.prompt_for_responses(&responses(unbalanced), None, &options);
    assert!(matches!(err, Err(openai_harmony::HarmonyError::InvalidRequest { .. })));
}

#[test]
fn deep_arguments_from_the_model_convert() {
    let search = Message::from_role_and_content(Role::Assistant, nested_arrays(DEEP))
        .with_channel("analysis")
        .with_recipient("browser.search");
    let items = response_output_from_harmony(&[search], &ToolNames::new()).expect("converts");
    assert_eq!(items[0]["type"], "web_search_call");
}

#[test]
fn schemas_as_deep_as_json_allows_render() {
    // serde_json reads at most 128 levels: nested `items` use one level
    // each, nested object properties two.
    let enc = load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss).expect("encoding loads");
    let arrays =
        format!("{}{{\"type\": \"number\"}}{}", "{\"type\": \"array\", \"items\": ".repeat(120), "}".repeat(120));
    let objects = format!(
        "{}{{\"type\": \"number\"}}{}",
        "{\"type\": \"object\", \"properties\": {\"p\": ".repeat(60),
        "}}".repeat(60)
    );
    for schema in [arrays, objects] {
        let schema: Value = serde_json::from_str(&schema).expect("within the limit");
        let tool = json!({"type": "function", "function": {"name": "f", "parameters": schema}});
        let format = json!({"type": "json_schema", "json_schema": {"name": "a", "schema": schema}});
        let request =
            json!({"messages": [{"role": "user", "content": "hi"}], "tools": [tool], "response_format": format});
        let prompt = enc.prompt_for_chat_completions(&request, &ConversionOptions::default());
        assert!(prompt.is_ok_and(|p| !p.tokens.is_empty()));
    }
}
