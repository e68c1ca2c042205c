//! Completion grammars: what they are derived from (the engine itself checks
//! them in `tests/python/test_grammar.py`, with llguidance).

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
    let enc = load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss)?;
    enc.completion_grammar(convo, Role::Assistant, GrammarSyntax::Lark, &choice.parse::<ToolChoice>()?)
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
