//! Rendering: conversations, tools and schemas, training renders.

use std::hint::black_box;

use openai_harmony::chat::{
    Conversation, DeveloperContent, Message, ResponseFormat, Role, SystemContent, ToolDescription,
};
use openai_harmony::render::DEFAULT_CAPACITY_BYTES;
use openai_harmony::{HarmonyEncoding, RenderKind, TrainOn};
use serde_json::{json, Map, Value};

use super::{exchanges, words, Case, Op};

fn completion_of(enc: &HarmonyEncoding, messages: Vec<Message>) -> Op {
    let enc = enc.clone();
    let convo = Conversation::from_messages(messages);
    Box::new(move || {
        black_box(enc.render_conversation_for_completion(&convo, Role::Assistant, None).expect("renders"));
    })
}

/// A developer message with these function tools.
fn with_tools(tools: Vec<ToolDescription>) -> Vec<Message> {
    vec![
        Message::from_role_and_content(Role::System, SystemContent::new()),
        Message::from_role_and_content(Role::Developer, DeveloperContent::new().with_function_tools(tools)),
        Message::from_role_and_content(Role::User, "hi"),
    ]
}

/// One tool taking `schema`.
fn with_schema(schema: Value) -> Vec<Message> {
    with_tools(vec![ToolDescription::new("f", "A tool.", Some(schema))])
}

fn properties(n: usize, prop: impl Fn(usize) -> Value) -> Map<String, Value> {
    (0..n).map(|i| (format!("p{i}"), prop(i))).collect()
}

/// An object nested `depth` levels deep with a few leaf properties.
fn nested(depth: usize) -> Value {
    let mut schema = json!({"type": "object", "properties": {"leaf": {"type": "string", "description": "a leaf"}}});
    for _ in 0..depth {
        schema = json!({"type": "object", "description": "a level", "properties": {"inner": schema, "n": {"type": "number"}}, "required": ["inner"]});
    }
    schema
}

fn training(enc: &HarmonyEncoding, n: usize, op: fn(&HarmonyEncoding, &Conversation)) -> Op {
    let enc = enc.clone();
    let mut messages = vec![Message::from_role_and_content(Role::System, SystemContent::new())];
    for i in 0..n {
        messages.push(Message::from_role_and_content(Role::User, format!("question {i}: {}", words(8))));
        messages.push(Message::from_role_and_content(Role::Assistant, words(12)).with_channel("analysis"));
        messages.push(Message::from_role_and_content(Role::Assistant, words(10)).with_channel("final"));
    }
    let convo = Conversation::from_messages(messages);
    Box::new(move || op(&enc, &convo))
}

/// Rendering with the render cache on, emptied first (every message a
/// miss and a store), then `warm` more renders (every message a hit).
fn cached(enc: &HarmonyEncoding, messages: Vec<Message>, warm: usize) -> Op {
    let enc = enc.clone();
    let convo = Conversation::from_messages(messages);
    Box::new(move || {
        let cache = enc.render_cache();
        cache.set_capacity(DEFAULT_CAPACITY_BYTES);
        cache.clear();
        for _ in 0..=warm {
            black_box(enc.render_conversation_for_completion(&convo, Role::Assistant, None).expect("renders"));
        }
        cache.set_capacity(0);
    })
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "render/many_messages_cache_misses",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| cached(enc, exchanges(n), 0),
        },
        Case {
            name: "render/many_messages_cache_hits",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| cached(enc, exchanges(n), 4),
        },
        Case {
            name: "render/many_messages",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| completion_of(enc, exchanges(n)),
        },
        Case {
            name: "render/one_huge_message",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| completion_of(enc, vec![Message::from_role_and_content(Role::User, words(n))]),
        },
        Case {
            name: "render/many_content_items",
            bench_n: 20_000,
            test_n: 1_000,
            known: None,
            make: |enc, n| {
                let parts: Vec<String> = (0..n).map(|i| format!("part {i} {}", words(3))).collect();
                completion_of(enc, vec![Message::from_role_and_contents(Role::User, parts)])
            },
        },
        Case {
            name: "render/long_header_fields",
            bench_n: 50_000,
            test_n: 2_000,
            known: None,
            make: |enc, n| {
                let m = Message::from_role_and_content(Role::Assistant, "{}")
                    .with_channel(format!("commentary {}", words(n)))
                    .with_recipient(format!("functions.f {}", words(n)))
                    .with_content_type(format!("<|constrain|>json {}", words(n)));
                completion_of(enc, vec![m])
            },
        },
        Case {
            name: "render/many_tools",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| {
                let tools = (0..n)
                    .map(|i| {
                        ToolDescription::new(
                            format!("tool_{i}"),
                            format!("Tool number {i}.\n{}", words(6)),
                            Some(json!({"type": "object", "properties": {"q": {"type": "string", "description": "what"}}, "required": ["q"]})),
                        )
                    })
                    .collect();
                completion_of(enc, with_tools(tools))
            },
        },
        Case {
            name: "render/schema_many_properties",
            bench_n: 10_000,
            test_n: 500,
            known: None,
            make: |enc, n| {
                let props = properties(n, |i| json!({"type": "string", "description": format!("property {i}")}));
                completion_of(enc, with_schema(json!({"type": "object", "properties": props})))
            },
        },
        Case {
            name: "render/schema_many_required",
            bench_n: 10_000,
            test_n: 500,
            known: None,
            make: |enc, n| {
                let props = properties(n, |_| json!({"type": "number"}));
                let mut required: Vec<Value> = (0..n).step_by(2).map(|i| json!(format!("p{i}"))).collect();
                required.extend([json!(7), json!(null), json!("p0"), json!("absent")]);
                completion_of(enc, with_schema(json!({"type": "object", "properties": props, "required": required})))
            },
        },
        Case {
            name: "render/schema_long_enum",
            bench_n: 20_000,
            test_n: 1_000,
            known: None,
            make: |enc, n| {
                let values: Vec<Value> = (0..n).map(|i| json!(format!("value {i}"))).collect();
                let props = json!({"choice": {"type": "string", "enum": values, "default": "value 0"}});
                completion_of(enc, with_schema(json!({"type": "object", "properties": props})))
            },
        },
        Case {
            name: "render/schema_many_one_of",
            bench_n: 5_000,
            test_n: 250,
            known: None,
            make: |enc, n| {
                let variants: Vec<Value> = (0..n)
                    .map(|i| json!({"type": "object", "description": format!("variant {i}"), "properties": {"a": {"type": "number"}}}))
                    .collect();
                let props = json!({"v": {"description": "one of many", "oneOf": variants}, "w": {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "number"}]}}});
                completion_of(enc, with_schema(json!({"type": "object", "properties": props})))
            },
        },
        Case {
            name: "render/schema_long_descriptions",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| {
                let props = json!({"a": {"type": "string", "title": words(n), "description": words(n), "examples": [words(n), 3]}});
                let schema = json!({"type": "object", "description": words(n), "properties": props});
                let lines: Vec<String> = (0..n / 10).map(|i| format!("line {i} {}", words(8))).collect();
                completion_of(enc, with_tools(vec![ToolDescription::new("f", lines.join("\n"), Some(schema))]))
            },
        },
        Case {
            name: "render/schema_deep_subtrees",
            bench_n: 500,
            test_n: 25,
            known: None,
            // Depth itself is bounded (serde_json refuses JSON nested more
            // than 128 levels, and the layout indents each level, so output
            // grows with depth squared by design): `n` subtrees 20 deep.
            make: |enc, n| {
                let props = properties(n, |_| nested(20));
                completion_of(enc, with_schema(json!({"type": "object", "properties": props})))
            },
        },
        Case {
            name: "render/response_format_schema",
            bench_n: 20_000,
            test_n: 1_000,
            known: None,
            make: |enc, n| {
                let props = properties(n, |i| json!({"type": "number", "default": i as f64 * 1.5e10}));
                let format = ResponseFormat::new("answer", json!({"type": "object", "properties": props}))
                    .with_description(words(20));
                completion_of(
                    enc,
                    vec![Message::from_role_and_content(
                        Role::Developer,
                        DeveloperContent::new().with_response_format(format),
                    )],
                )
            },
        },
        Case {
            name: "render/system_many_channels",
            bench_n: 20_000,
            test_n: 1_000,
            known: None,
            make: |enc, n| {
                let channels: Vec<String> = (0..n).map(|i| format!("channel {i}")).collect();
                let sys = SystemContent::new().with_required_channels(channels).with_model_identity(words(n));
                completion_of(enc, vec![Message::from_role_and_content(Role::System, sys)])
            },
        },
        Case {
            name: "render/training",
            bench_n: 1_000,
            test_n: 50,
            known: None,
            make: |enc, n| {
                training(enc, n, |enc, c| {
                    black_box(enc.render_conversation_for_training(c, None).expect("renders"));
                })
            },
        },
        Case {
            name: "render/training_mask_all",
            bench_n: 1_000,
            test_n: 50,
            known: None,
            make: |enc, n| {
                training(enc, n, |enc, c| {
                    black_box(
                        enc.render_conversation_for_training_with_mask(c, None, TrainOn::AllAssistant)
                            .expect("renders"),
                    );
                })
            },
        },
        Case {
            name: "render/training_mask_last_turn",
            bench_n: 1_000,
            test_n: 50,
            known: None,
            make: |enc, n| {
                training(enc, n, |enc, c| {
                    black_box(
                        enc.render_conversation_for_training_with_mask(c, None, TrainOn::LastAssistantTurn)
                            .expect("renders"),
                    );
                })
            },
        },
        Case {
            name: "render/message_spans",
            bench_n: 1_000,
            test_n: 50,
            known: None,
            make: |enc, n| {
                training(enc, n, |enc, c| {
                    black_box(enc.message_spans(c, None).expect("renders"));
                })
            },
        },
        Case {
            name: "render/batch_conversations",
            bench_n: 400,
            test_n: 20,
            known: None,
            make: |enc, n| {
                let enc = enc.clone();
                let convos: Vec<Conversation> = (0..n).map(|_| Conversation::from_messages(exchanges(5))).collect();
                Box::new(move || {
                    black_box(enc.render_conversations_batch(&convos, RenderKind::Training, None));
                })
            },
        },
    ]
}
