//! Completion grammars: what they are derived from, in each syntax (the
//! engines themselves check them in `tests/python/test_grammar.py`:
//! llguidance for Lark and GBNF, xgrammar for structural tags).

use openai_harmony::chat::{Conversation, DeveloperContent, Message, Role, SystemContent, ToolDescription};
use openai_harmony::grammar::{GrammarSyntax, ToolChoice};
use openai_harmony::{load_harmony_encoding, HarmonyEncodingName, HarmonyError};
use serde_json::json;

fn conversation(tools: &[&str]) -> Conversation {
    let tools = tools
        .iter()
        .map(|n| {
            ToolDescription::new(
                *n,
                "A tool.",
                Some(json!({"type": "object", "properties": {"x": {"type": "integer"}}})),
            )
        })
        .collect();
    Conversation::from_messages(vec![
        Message::from_role_and_content(Role::System, SystemContent::new()),
        Message::from_role_and_content(Role::Developer, DeveloperContent::new().with_function_tools(tools)),
        Message::from_role_and_content(Role::User, "Hi"),
    ])
}

fn grammar(convo: &Conversation, choice: &str) -> Result<String, HarmonyError> {
    grammar_in(convo, choice, GrammarSyntax::Lark)
}

fn grammar_in(convo: &Conversation, choice: &str, syntax: GrammarSyntax) -> Result<String, HarmonyError> {
    let enc = load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss)?;
    enc.completion_grammar(convo, Role::Assistant, syntax, &choice.parse::<ToolChoice>()?)
}

fn with_schema(schema: serde_json::Value) -> Conversation {
    let tool = ToolDescription::new("f", "A tool.", Some(schema));
    Conversation::from_messages(vec![
        Message::from_role_and_content(Role::System, SystemContent::new()),
        Message::from_role_and_content(Role::Developer, DeveloperContent::new().with_function_tools(vec![tool])),
    ])
}

#[test]
fn gbnf_leaves_stop_tokens_to_llama_cpp() {
    let g = grammar_in(&conversation(&["get_weather"]), "auto", GrammarSyntax::Gbnf).expect("grammar");
    assert!(g.starts_with("root ::= "), "{g}");
    assert!(g.contains("<|message|>") && g.contains("<|end|>"), "{g}");
    assert!(!g.contains("<|return|>") && !g.contains("<|call|>"), "{g}");
    // Every rule referenced is defined once.
    let defined: Vec<&str> = g.lines().filter_map(|l| l.split_once(" ::= ").map(|(n, _)| n)).collect();
    let mut unique = defined.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), defined.len(), "{g}");
    assert!(defined.contains(&"text") && defined.contains(&"json-string"), "{g}");
}

#[test]
fn gbnf_json_schema_conversion() {
    let recursive = json!({
        "type": "object",
        "properties": {"tree": {"$ref": "#/$defs/node"}},
        "required": ["tree"],
        "$defs": {"node": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}}
    });
    let g = grammar_in(&with_schema(recursive), "auto", GrammarSyntax::Gbnf).expect("a recursive schema");
    assert!(g.contains("\"\\\"kids\\\"\""), "{g}");
    let err = |schema| grammar_in(&with_schema(schema), "auto", GrammarSyntax::Gbnf).expect_err("an error").to_string();
    assert!(err(json!(false)).contains("`false`"));
    assert!(err(json!({"$ref": "#/nowhere"})).contains("#/nowhere"));
    assert!(err(json!({"type": "tuple"})).contains("\"tuple\""));
    assert!(err(json!({"enum": []})).contains("enum"));
}

#[test]
fn xgrammar_is_a_structural_tag() {
    let g = grammar_in(&conversation(&["get_weather"]), "required", GrammarSyntax::Xgrammar).expect("grammar");
    let tag: serde_json::Value = serde_json::from_str(&g).expect("JSON");
    assert_eq!(tag["type"], "structural_tag");
    let text = tag.to_string();
    assert!(text.contains(r#"{"type":"token","token":"<|call|>"}"#), "{text}");
    assert!(!text.contains("<|return|>"), "required: no final answer: {text}");
    assert!(text.contains(r#""json_schema":{"type":"object","properties":{"x":{"type":"integer"}}}"#), "{text}");
}

#[test]
fn only_declared_tools_and_channels() {
    let g = grammar(&conversation(&["get_weather", "set_alarm"]), "auto").expect("grammar");
    assert!(g.contains("\" to=functions.get_weather\"") && g.contains("\" to=functions.set_alarm\""), "{g}");
    assert!(g.contains("<|channel|> \"analysis\"") && g.contains("<|channel|> \"final\""), "{g}");
    assert!(g.contains("%json {\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}}}"), "{g}");
    let named = grammar(&conversation(&["get_weather", "set_alarm"]), "set_alarm").expect("grammar");
    assert!(named.contains("set_alarm") && !named.contains("get_weather") && !named.contains("final:"), "{named}");
    let none = grammar(&conversation(&["get_weather"]), "none").expect("grammar");
    assert!(!none.contains("to=") && none.contains("final:"), "{none}");
}

#[test]
fn bad_options_are_errors_naming_them() {
    let err = |r: Result<String, HarmonyError>| r.expect_err("an error").to_string();
    assert!(err(grammar(&conversation(&[]), "required")).contains("required"));
    assert!(err(grammar(&conversation(&["a"]), "b")).contains("\"b\""));
    assert!("yaml".parse::<GrammarSyntax>().expect_err("unknown syntax").to_string().contains("yaml"));
    let enc = load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss).expect("loads");
    let user = enc.completion_grammar(&conversation(&[]), Role::User, GrammarSyntax::Lark, &ToolChoice::Auto);
    assert!(matches!(user, Err(HarmonyError::InvalidArgument(_))));
}

#[test]
fn grammars_from_requests_enforce_tool_choice() {
    use openai_harmony::interop::ConversionOptions;
    let enc = load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss).expect("loads");
    let options = ConversionOptions { conversation_start_date: Some("2026-01-01".into()) };
    let tool = json!({"type": "function", "function": {"name": "get-weather", "parameters": {"type": "object"}}});
    let chat = |choice: serde_json::Value| {
        let request = json!({"messages": [{"role": "user", "content": "Hi"}], "tools": [tool], "tool_choice": choice});
        enc.completion_grammar_for_chat_completions(&request, &options, GrammarSyntax::Lark)
    };
    let auto = chat(json!("auto")).expect("auto");
    assert!(auto.contains("final:") && auto.contains(" to=functions.get_weather"), "{auto}");
    let required = chat(json!("required")).expect("required");
    assert!(!required.contains("final:") && required.contains(" to=functions.get_weather"), "{required}");
    let none = chat(json!("none")).expect("none");
    assert!(none.contains("final:") && !none.contains(" to="), "{none}");
    let named = chat(json!({"type": "function", "function": {"name": "get-weather"}})).expect("named");
    assert!(!named.contains("final:") && named.contains(" to=functions.get_weather"), "{named}");
    let unknown = chat(json!({"type": "function", "function": {"name": "launch"}})).expect_err("not a tool");
    assert!(unknown.to_string().contains("launch"), "{unknown}");

    // Responses: a built-in tool chosen is called first.
    let request = json!({"input": "Look it up", "tools": [{"type": "web_search_preview"}], "tool_choice": {"type": "web_search_preview"}});
    let g = enc.completion_grammar_for_responses(&request, None, &options, GrammarSyntax::Gbnf).expect("web search");
    assert!(g.contains(" to=browser.search") && !g.contains("browser.open") && !g.contains("final ::="), "{g}");
}
