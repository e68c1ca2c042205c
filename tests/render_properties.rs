//! Property tests for the renderer: any conversation that deserializes
//! renders to tokens or to one of the documented errors, never a panic; the
//! decoded output of text-only messages matches a simple string oracle; and
//! the JSON form round-trips.

use std::collections::BTreeMap;

use openai_harmony::chat::{
    Author, ChannelConfig, Content, Conversation, DeveloperContent, Message, ReasoningEffort, ResponseFormat, Role,
    SystemContent, TextContent, ToolDescription, ToolNamespaceConfig,
};
use openai_harmony::{load_harmony_encoding, HarmonyEncoding, HarmonyEncodingName, HarmonyError, RenderOptions};
use proptest::prelude::*;
use serde_json::{json, Value};

fn enc() -> HarmonyEncoding {
    load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss).expect("encoding loads")
}

/// Short strings with a bias towards the characters that matter here.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_.]{0,12}",
        "\\PC{0,16}",
        Just("<|start|>".to_string()),
        Just("<|constrain|>json".to_string()),
        Just("<|constrain|>".to_string()),
        Just("final".to_string()),
        Just("analysis".to_string()),
        Just("all".to_string()),
        Just(" to=functions.x".to_string()),
        Just("line one\nline two\n".to_string()),
    ]
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(Role::ALL.to_vec())
}

fn schema() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(json!({})),
        Just(json!({"type": "string"})),
        Just(json!({"type": "integer", "default": 3})),
        Just(json!({"type": "number", "nullable": true})),
        Just(json!({"type": ["string", "null"]})),
        Just(json!({"type": "string", "enum": ["a", "b"], "default": "a"})),
        Just(json!({"type": "boolean", "description": "flag\nwith two lines", "title": "T"})),
        Just(json!({"type": 7, "enum": "not a list", "oneOf": {}})),
        Just(json!({"type": "array"})),
        Just(json!(null)),
        Just(json!("string schema")),
        text().prop_map(|d| json!({"type": "string", "description": d, "examples": [d, 1]})),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            (prop::collection::vec(("[a-z]{1,6}", inner.clone()), 0..5), prop::collection::vec("[a-z]{1,6}", 0..3))
                .prop_map(|(props, required)| {
                    let props: serde_json::Map<String, Value> = props.into_iter().collect();
                    json!({"type": "object", "properties": props, "required": required})
                }),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| json!({"oneOf": v, "description": "alt"})),
            inner.clone().prop_map(|items| json!({"type": "array", "items": items})),
            (inner, text()).prop_map(|(s, d)| json!({"type": "object", "description": d, "properties": {"p": s}})),
        ]
    })
}

fn namespace() -> impl Strategy<Value = ToolNamespaceConfig> {
    // A JSON null schema reads back as no schema, so it is generated as None.
    let tool = (text(), text(), prop::option::of(schema()))
        .prop_map(|(n, d, p)| ToolDescription::new(n, d, p.filter(|p| !p.is_null())));
    (prop_oneof![Just("functions".to_string()), text()], prop::option::of(text()), prop::collection::vec(tool, 0..3))
        .prop_map(|(name, desc, tools)| ToolNamespaceConfig::new(name, desc, tools))
}

fn tools() -> impl Strategy<Value = Option<BTreeMap<String, ToolNamespaceConfig>>> {
    prop::option::of(prop::collection::vec(namespace(), 0..3))
        .prop_map(|v| v.map(|v| v.into_iter().map(|ns| (ns.name.clone(), ns)).collect()))
}

fn system_content() -> impl Strategy<Value = SystemContent> {
    (
        prop::option::of(text()),
        prop::option::of(prop::sample::select(vec![
            ReasoningEffort::Low,
            ReasoningEffort::Medium,
            ReasoningEffort::High,
        ])),
        tools(),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of((prop::collection::vec(text(), 0..3), any::<bool>())),
    )
        .prop_map(|(identity, effort, tools, date, cutoff, channels)| SystemContent {
            model_identity: identity,
            reasoning_effort: effort,
            tools,
            conversation_start_date: date,
            knowledge_cutoff: cutoff,
            channel_config: channels
                .map(|(valid_channels, channel_required)| ChannelConfig { valid_channels, channel_required }),
        })
}

fn developer_content() -> impl Strategy<Value = DeveloperContent> {
    (prop::option::of(text()), tools(), prop::collection::vec((text(), prop::option::of(text()), schema()), 0..2))
        .prop_map(|(instructions, tools, formats)| DeveloperContent {
            instructions,
            tools,
            response_formats: formats
                .into_iter()
                .map(|(n, d, s)| ResponseFormat { name: n, description: d, schema: s })
                .collect(),
        })
}

fn content() -> impl Strategy<Value = Content> {
    prop_oneof![
        4 => text().prop_map(|t| Content::Text(TextContent { text: t })),
        1 => system_content().prop_map(Content::SystemContent),
        1 => developer_content().prop_map(Content::DeveloperContent),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    (
        role(),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::collection::vec(content(), 0..3),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(|(role, name, recipient, content, channel, content_type)| Message {
            author: Author { role, name },
            recipient,
            content,
            channel,
            content_type,
        })
}

fn conversation() -> impl Strategy<Value = Conversation> {
    prop::collection::vec(message(), 0..6).prop_map(Conversation::from_messages)
}

/// The error a message must produce, if any.
fn expected_error(m: &Message) -> Option<HarmonyError> {
    if m.author.role == Role::Tool && m.author.name.is_none() {
        return Some(HarmonyError::ToolWithoutName);
    }
    m.content.iter().find_map(|c| match c {
        Content::SystemContent(_) if m.author.role != Role::System => {
            Some(HarmonyError::SystemContentOutsideSystem(format!("{:?}", m.author.role)))
        }
        Content::DeveloperContent(_) if m.author.role != Role::Developer => {
            Some(HarmonyError::DeveloperContentOutsideDeveloper(format!("{:?}", m.author.role)))
        }
        _ => None,
    })
}

/// The message with what makes it an error removed: a tool gets a name,
/// and system and developer content stay only in their own messages.
fn make_valid(mut m: Message) -> Message {
    if m.author.role == Role::Tool && m.author.name.is_none() {
        m.author.name = Some("functions.tool".to_string());
    }
    let role = m.author.role;
    m.content.retain(|c| match c {
        Content::SystemContent(_) => role == Role::System,
        Content::DeveloperContent(_) => role == Role::Developer,
        Content::Text(_) => true,
    });
    m
}

/// What a text-only message decodes to, built from strings alone.
fn oracle_text(m: &Message) -> String {
    let mut s = String::from("<|start|>");
    match (m.author.role, &m.author.name) {
        (Role::Tool, Some(name)) => s.push_str(name),
        (role, name) => {
            s.push_str(role.as_str());
            if let Some(name) = name {
                s.push(':');
                s.push_str(name);
            }
        }
    }
    if let Some(r) = m.recipient.as_deref().filter(|r| *r != "all") {
        s.push_str(" to=");
        s.push_str(r);
    }
    if let Some(c) = &m.channel {
        s.push_str("<|channel|>");
        s.push_str(c);
    }
    if let Some(ct) = &m.content_type {
        s.push(' ');
        s.push_str(ct);
    }
    s.push_str("<|message|>");
    for c in &m.content {
        if let Content::Text(t) = c {
            s.push_str(&t.text);
        }
    }
    s.push_str(if m.author.role == Role::Assistant && m.recipient.is_some() { "<|call|>" } else { "<|end|>" });
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn renders_or_fails_cleanly(convo in conversation()) {
        let enc = enc();
        let keep_all = openai_harmony::RenderConversationConfig { auto_drop_analysis: false };
        let expected = convo.messages.iter().find_map(expected_error);
        for result in [
            enc.render_conversation(&convo, Some(&keep_all)),
            enc.render_conversation_for_completion(&convo, Role::Assistant, Some(&keep_all)),
            enc.render_conversation_for_training(&convo, Some(&keep_all)),
        ] {
            match (&expected, result) {
                (None, Ok(tokens)) => { enc.decode_utf8(&tokens).expect("rendered tokens decode"); }
                (Some(want), Err(got)) => prop_assert_eq!(want, &got),
                (want, got) => prop_assert!(false, "want error {:?}, got {:?}", want, got),
            }
        }
        // Dropping analysis may drop the offending message; any error left
        // must still be one of the documented ones.
        for result in [
            enc.render_conversation(&convo, None),
            enc.render_conversation_for_completion(&convo, Role::Assistant, None),
            enc.render_conversation_for_training(&convo, None),
        ] {
            match result {
                Ok(tokens) => { enc.decode_utf8(&tokens).expect("rendered tokens decode"); }
                Err(e) => prop_assert!(convo.messages.iter().filter_map(expected_error).any(|w| w == e), "{:?}", e),
            }
        }
    }

    #[test]
    fn text_messages_match_the_string_oracle(m in message()) {
        let m = make_valid(Message { content: m.content.into_iter().filter(|c| matches!(c, Content::Text(_))).collect(), ..m });
        let tokens = enc().render(&m, None).expect("renders");
        prop_assert_eq!(enc().decode_utf8(&tokens).expect("decodes"), oracle_text(&m));
    }

    #[test]
    fn conversation_is_the_concatenation_of_its_messages(convo in conversation()) {
        let convo = Conversation::from_messages(convo.messages.into_iter().map(make_valid));
        let enc = enc();
        let config = openai_harmony::RenderConversationConfig { auto_drop_analysis: false };
        let whole = enc.render_conversation(&convo, Some(&config)).expect("renders");
        let options = RenderOptions {
            conversation_has_function_tools: convo.messages.iter().any(|m| m.content.iter().any(|c| matches!(
                c,
                Content::DeveloperContent(d) if d.tools.as_ref().and_then(|t| t.get("functions")).is_some_and(|ns| !ns.tools.is_empty())
            ))),
        };
        let mut parts = Vec::new();
        for m in &convo.messages {
            parts.extend(enc.render(m, Some(&options)).expect("renders"));
        }
        prop_assert_eq!(whole, parts);
    }

    #[test]
    fn json_round_trip_preserves_rendering(convo in conversation()) {
        let json = convo.to_json().expect("serializes");
        let back = Conversation::from_json(&json).expect("deserializes");
        prop_assert_eq!(&back, &convo);
        let enc = enc();
        prop_assert_eq!(enc.render_conversation(&back, None).ok(), enc.render_conversation(&convo, None).ok());
    }
}

#[test]
fn malformed_json_is_an_error_not_a_panic() {
    for bad in [
        "",
        "{",
        "{}",
        "42",
        r#"{"messages": [{"role": "wizard", "content": "x"}]}"#,
        r#"{"messages": [{"role": "user", "content": 5}]}"#,
        r#"{"messages": [{"role": "user", "content": [{"type": "image"}]}]}"#,
        r#"{"messages": [{"role": "system", "content": [{"type": "system_content", "reasoning_effort": "Extreme"}]}]}"#,
    ] {
        assert!(matches!(Conversation::from_json(bad), Err(HarmonyError::Json(_))), "{bad:?} should be a JSON error");
    }
}

#[test]
fn null_and_absent_fields() {
    let absent =
        Conversation::from_json(r#"{"messages": [{"role": "system", "content": [{"type": "system_content"}]}]}"#)
            .expect("absent fields take defaults");
    assert_eq!(absent.messages[0].content[0], Content::SystemContent(SystemContent::new()));
    let nulls = Conversation::from_json(
        r#"{"messages": [{"role": "user", "name": null, "channel": null, "recipient": null, "content_type": null,
            "content": [{"type": "system_content", "model_identity": null, "reasoning_effort": null,
            "knowledge_cutoff": null, "channel_config": null, "tools": null, "conversation_start_date": null}]}]}"#,
    )
    .expect("nulls accepted");
    let Content::SystemContent(sys) = &nulls.messages[0].content[0] else { panic!("system content") };
    assert_eq!((sys.model_identity.as_ref(), sys.reasoning_effort, sys.channel_config.as_ref()), (None, None, None));
    // Unset fields that default to something round-trip as null, not as absent.
    let back = Conversation::from_json(&nulls.to_json().expect("serializes")).expect("round trip");
    assert_eq!(back, nulls);
}
