//! Interop: requests to prompts, completions to replies and stream events.

use std::hint::black_box;

use openai_harmony::chat::{Message, Role};
use openai_harmony::interop::{
    chat_completion_message_from_harmony, chat_tool_names, response_output_from_harmony, responses_tool_names,
    ChatCompletionStream, ConversionOptions, ResponsesStream, ToolNames,
};
use openai_harmony::{HarmonyEncoding, Rank};
use serde_json::{json, Value};

use super::{completion, words, Case, Op};

fn options() -> ConversionOptions {
    ConversionOptions { conversation_start_date: Some("2026-12-02".into()) }
}

fn chat(enc: &HarmonyEncoding, request: Value) -> Op {
    let enc = enc.clone();
    Box::new(move || {
        black_box(enc.prompt_for_chat_completions(&request, &options()).expect("converts"));
    })
}

fn responses(enc: &HarmonyEncoding, request: Value, previous: Vec<Value>) -> Op {
    let enc = enc.clone();
    Box::new(move || {
        black_box(enc.prompt_for_responses(&request, Some(&previous), &options()).expect("converts"));
    })
}

fn chat_tools(n: usize, name: impl Fn(usize) -> String) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"type": "function", "function": {"name": name(i), "description": "Gets it.", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}))
        .collect()
}

fn responses_tools(n: usize, name: impl Fn(usize) -> String) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"type": "function", "name": name(i), "description": "Gets it.", "parameters": {"type": "object"}}))
        .collect()
}

fn chat_messages(n: usize) -> Vec<Value> {
    let mut messages = vec![json!({"role": "system", "content": "Be brief."})];
    for i in 0..n {
        messages.push(json!({"role": "user", "content": format!("question {i}: {}", words(8))}));
        messages.push(json!({"role": "assistant", "content": words(10), "reasoning_content": words(6)}));
    }
    messages
}

fn call(name: &str, args: &str) -> Message {
    Message::from_role_and_content(Role::Assistant, args)
        .with_channel("commentary")
        .with_recipient(format!("functions.{name}"))
        .with_content_type("<|constrain|>json")
}

/// A reply of `n` rounds of reasoning, a call and a short answer.
fn reply(n: usize) -> Vec<Message> {
    let mut messages = Vec::new();
    for _ in 0..n {
        messages.push(Message::from_role_and_content(Role::Assistant, words(12)).with_channel("analysis"));
        messages.push(call("get_weather", r#"{"city": "Paris"}"#));
        messages.push(
            Message::from_role_and_content(Role::Assistant, r#"{"query": "weather"}"#)
                .with_channel("analysis")
                .with_recipient("browser.search"),
        );
        messages.push(Message::from_role_and_content(Role::Assistant, words(6)).with_channel("final"));
    }
    messages
}

fn long_answer(n: usize) -> Vec<Message> {
    vec![
        Message::from_role_and_content(Role::Assistant, words(n)).with_channel("analysis"),
        Message::from_role_and_content(Role::Assistant, words(n)).with_channel("final"),
    ]
}

fn names() -> ToolNames {
    let mut names = ToolNames::new();
    names.define("get-weather");
    names
}

fn chat_stream(enc: &HarmonyEncoding, tokens: Vec<Rank>) -> Op {
    let enc = enc.clone();
    Box::new(move || {
        let mut stream = ChatCompletionStream::new(enc.clone(), names(), "m");
        for &t in &tokens {
            black_box(stream.process(t).expect("processes"));
        }
        black_box(stream.finish(None).expect("finishes"));
    })
}

fn responses_stream(enc: &HarmonyEncoding, tokens: Vec<Rank>) -> Op {
    let enc = enc.clone();
    Box::new(move || {
        let request = json!({"tools": [{"type": "function", "name": "get-weather"}], "input": "hi"});
        let mut stream = ResponsesStream::new(enc.clone(), names(), "m", Some(request));
        black_box(stream.start());
        for &t in &tokens {
            black_box(stream.process(t).expect("processes"));
        }
        black_box(stream.finish(None).expect("finishes"));
    })
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "interop/chat_many_messages",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| chat(enc, json!({"messages": chat_messages(n)})),
        },
        Case {
            name: "interop/chat_long_content",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| chat(enc, json!({"messages": [{"role": "user", "content": words(n)}]})),
        },
        Case {
            name: "interop/chat_many_content_parts",
            bench_n: 20_000,
            test_n: 1_000,
            known: None,
            make: |enc, n| {
                let parts: Vec<Value> = (0..n).map(|i| json!({"type": "text", "text": format!("part {i}")})).collect();
                chat(
                    enc,
                    json!({"messages": [{"role": "user", "content": parts}, {"role": "system", "content": parts}]}),
                )
            },
        },
        Case {
            name: "interop/chat_many_tools",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| {
                chat(
                    enc,
                    json!({"messages": [{"role": "user", "content": "hi"}], "tools": chat_tools(n, |i| format!("tool-{i}"))}),
                )
            },
        },
        Case {
            name: "interop/chat_duplicate_tool_names",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| {
                let request = json!({"messages": [{"role": "user", "content": "hi"}], "tools": chat_tools(n, |_| "get-weather".into())});
                chat(enc, request)
            },
        },
        Case {
            name: "interop/chat_tool_names_map_back",
            bench_n: 20_000,
            test_n: 1_000,
            known: None,
            make: |_, n| {
                let request = json!({"messages": [], "tools": chat_tools(n, |i| if i % 2 == 0 { "get-weather".into() } else { format!("get_weather_{i}") })});
                Box::new(move || {
                    let names = chat_tool_names(&request).expect("names");
                    black_box(names.api_name("get_weather_2"));
                })
            },
        },
        Case {
            name: "interop/chat_many_tool_calls",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| {
                let calls: Vec<Value> = (0..n)
                    .map(|i| json!({"id": format!("call_{i}"), "type": "function", "function": {"name": "get-weather", "arguments": format!("{{\"city\": \"c{i}\"}}")}}))
                    .collect();
                let mut messages = vec![
                    json!({"role": "user", "content": "hi"}),
                    json!({"role": "assistant", "content": "", "tool_calls": calls}),
                ];
                messages.extend(
                    (0..n).map(|i| json!({"role": "tool", "tool_call_id": format!("call_{i}"), "content": "sunny"})),
                );
                chat(enc, json!({"messages": messages, "tools": chat_tools(1, |_| "get-weather".into())}))
            },
        },
        Case {
            name: "interop/chat_response_format_schema",
            bench_n: 20_000,
            test_n: 1_000,
            known: None,
            make: |enc, n| {
                let props: serde_json::Map<String, Value> =
                    (0..n).map(|i| (format!("p{i}"), json!({"type": "number"}))).collect();
                let format = json!({"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object", "properties": props}}});
                chat(enc, json!({"messages": [{"role": "user", "content": "hi"}], "response_format": format}))
            },
        },
        Case {
            name: "interop/responses_many_items",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| {
                let mut items = Vec::new();
                for i in 0..n {
                    items.push(json!({"role": "user", "content": format!("question {i}: {}", words(8))}));
                    items.push(json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": words(6)}]}));
                    items.push(json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": words(10)}]}));
                }
                let half = items.split_off(items.len() / 2);
                responses(enc, json!({"instructions": "Be brief.", "input": half}), items)
            },
        },
        Case {
            name: "interop/responses_many_tools",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| {
                responses(enc, json!({"input": "hi", "tools": responses_tools(n, |i| format!("tool.{i}"))}), Vec::new())
            },
        },
        Case {
            name: "interop/responses_duplicate_tool_names",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| {
                responses(
                    enc,
                    json!({"input": "hi", "tools": responses_tools(n, |_| "get-weather".into())}),
                    Vec::new(),
                )
            },
        },
        Case {
            name: "interop/responses_tool_names_map_back",
            bench_n: 20_000,
            test_n: 1_000,
            known: None,
            make: |_, n| {
                let request = json!({"tools": responses_tools(n, |_| "get-weather".into())});
                Box::new(move || {
                    let names = responses_tool_names(&request, None).expect("names");
                    black_box(names.api_name("get_weather_2"));
                })
            },
        },
        Case {
            name: "interop/responses_many_function_calls",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| {
                let mut items = vec![json!({"role": "user", "content": "hi"})];
                for i in 0..n {
                    items.push(json!({"type": "function_call", "call_id": format!("c{i}"), "name": "get-weather", "arguments": "{\"city\": \"x\"}"}));
                    items.push(json!({"type": "web_search_call", "action": {"type": "search", "query": "weather"}}));
                }
                for i in 0..n {
                    items.push(json!({"type": "function_call_output", "call_id": format!("c{i}"), "output": "sunny"}));
                }
                responses(
                    enc,
                    json!({"input": items, "tools": responses_tools(1, |_| "get-weather".into())}),
                    Vec::new(),
                )
            },
        },
        Case {
            name: "interop/responses_long_input",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| responses(enc, json!({"input": words(n), "instructions": words(n)}), Vec::new()),
        },
        Case {
            name: "interop/chat_message_from_completion",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |_, n| {
                let messages = reply(n);
                Box::new(move || {
                    black_box(chat_completion_message_from_harmony(&messages, &names()).expect("converts"));
                })
            },
        },
        Case {
            name: "interop/responses_output_from_completion",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |_, n| {
                let messages = reply(n);
                Box::new(move || {
                    black_box(response_output_from_harmony(&messages, &names()).expect("converts"));
                })
            },
        },
        Case {
            name: "interop/chat_stream_long_completion",
            bench_n: 50_000,
            test_n: 2_500,
            known: None,
            make: |enc, n| chat_stream(enc, completion(enc, &long_answer(n))),
        },
        Case {
            name: "interop/chat_stream_many_messages",
            bench_n: 1_000,
            test_n: 50,
            known: None,
            make: |enc, n| chat_stream(enc, completion(enc, &reply(n))),
        },
        Case {
            name: "interop/responses_stream_long_completion",
            bench_n: 50_000,
            test_n: 2_500,
            known: None,
            make: |enc, n| responses_stream(enc, completion(enc, &long_answer(n))),
        },
        Case {
            name: "interop/responses_stream_many_messages",
            bench_n: 1_000,
            test_n: 50,
            known: None,
            make: |enc, n| responses_stream(enc, completion(enc, &reply(n))),
        },
    ]
}
