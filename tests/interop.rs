//! OpenAI API interop: the request fixtures of test-data/interop (shared
//! with pytest), replies, streams and multi-turn round trips.

use std::collections::HashSet;

use crate::common::enc;
use openai_harmony::chat::{Message, Role};
use openai_harmony::interop::{
    chat_completion_message_from_harmony, chat_tool_names, conversation_from_chat_completions,
    conversation_from_responses, response_output_from_harmony, responses_tool_names, ChatCompletionStream,
    ConversionOptions, FinishReason, ResponsesStream, ToolNames,
};
use openai_harmony::{HarmonyEncoding, Rank};
use serde_json::{json, Value};

fn options(date: &str) -> ConversionOptions {
    ConversionOptions { conversation_start_date: Some(date.to_string()) }
}

#[test]
fn request_fixtures() {
    let cases = crate::common::fixture_cases("interop/requests.json");
    let enc = enc();
    assert!(cases.len() >= 20);
    for case in cases {
        let name = case["name"].as_str().unwrap_or("?");
        let opts = options(case["date"].as_str().expect("date"));
        let prompt = match case["api"].as_str() {
            Some("chat") => enc.prompt_for_chat_completions(&case["request"], &opts),
            _ => {
                let previous = case.get("previous_items").and_then(Value::as_array).map(Vec::as_slice);
                enc.prompt_for_responses(&case["request"], previous, &opts)
            }
        };
        match (prompt, case.get("error").and_then(Value::as_str)) {
            (Ok(prompt), None) => {
                let decoded = enc.decode_utf8(&prompt.tokens).expect("decodes");
                assert_eq!(decoded, case["prompt"].as_str().expect("prompt"), "{name}");
                assert_eq!(prompt.stop_tokens, vec![200002, 200012], "{name}");
            }
            (Err(e), Some(expected)) => {
                let message = e.to_string();
                assert!(message.starts_with("invalid request: "), "{name}: {message}");
                assert!(message.contains(expected), "{name}: {message} lacks {expected}");
            }
            (Ok(_), Some(expected)) => panic!("{name}: expected the error {expected}"),
            (Err(e), None) => panic!("{name}: unexpected error {e}"),
        }
    }
}

/// Tokens the model would sample for these messages (the prompt already
/// ends with `<|start|>assistant`); the last message ends with `last`.
fn completion(enc: &HarmonyEncoding, messages: &[Message], last: Rank) -> Vec<Rank> {
    let mut tokens = Vec::new();
    for m in messages {
        tokens.extend(enc.render(m, None).expect("renders"));
    }
    tokens.drain(..2);
    if let Some(end) = tokens.last_mut() {
        *end = last;
    }
    tokens
}

fn analysis(text: &str) -> Message {
    Message::from_role_and_content(Role::Assistant, text).with_channel("analysis")
}

fn final_answer(text: &str) -> Message {
    Message::from_role_and_content(Role::Assistant, text).with_channel("final")
}

fn call(name: &str, args: &str) -> Message {
    Message::from_role_and_content(Role::Assistant, args)
        .with_channel("commentary")
        .with_recipient(format!("functions.{name}"))
        .with_content_type("<|constrain|>json")
}

fn weather_request() -> Value {
    json!({
        "model": "gpt-oss-20b",
        "tools": [{"type": "function", "function": {"name": "get-weather", "parameters": {"type": "object"}}}],
        "messages": [{"role": "user", "content": "Weather in Paris and Rome?"}],
    })
}

#[test]
fn chat_message_maps_channels_and_calls() {
    let names = chat_tool_names(&weather_request()).expect("names");
    let messages = [
        analysis("Two cities."),
        Message::from_role_and_content(Role::Assistant, "Checking both.").with_channel("commentary"),
        call("get_weather", r#"{"city":"Paris"}"#),
        call("get_weather", r#"{"city":"Rome"}"#),
    ];
    let out = chat_completion_message_from_harmony(&messages, &names).expect("converts");
    assert_eq!(out["role"], "assistant");
    assert_eq!(out["reasoning_content"], "Two cities.");
    assert_eq!(out["content"], "Checking both.");
    let calls = out["tool_calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["function"]["name"], "get-weather");
    assert_eq!(calls[0]["function"]["arguments"], r#"{"city":"Paris"}"#);
    assert_eq!(calls[1]["function"]["arguments"], r#"{"city":"Rome"}"#);
    assert_ne!(calls[0]["id"], calls[1]["id"]);
    assert!(calls
        .iter()
        .all(|c| c["type"] == "function" && c["id"].as_str().is_some_and(|id| id.starts_with("call_"))));

    let plain = chat_completion_message_from_harmony(&[final_answer("4")], &ToolNames::new()).expect("converts");
    assert_eq!(plain, json!({"role": "assistant", "content": "4", "reasoning_content": null, "tool_calls": null}));
}

/// A tool call put together from stream deltas: id, name, arguments.
type StreamedCall = (String, String, String);

/// Concatenates a chat stream back into content, reasoning, calls and the finish reason.
fn collect_chat(chunks: &[Value]) -> (String, String, Vec<StreamedCall>, Option<String>) {
    let (mut content, mut reasoning) = (String::new(), String::new());
    let mut calls: Vec<StreamedCall> = Vec::new();
    let mut finish = None;
    for (i, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        let choice = &chunk["choices"][0];
        let delta = &choice["delta"];
        assert_eq!(delta.get("role").is_some(), i == 0, "role only in the first chunk");
        if let Some(t) = delta["content"].as_str() {
            content.push_str(t);
        }
        if let Some(t) = delta["reasoning_content"].as_str() {
            reasoning.push_str(t);
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = call["index"].as_u64().expect("index") as usize;
            if let Some(id) = call["id"].as_str() {
                assert_eq!(index, calls.len(), "a new call takes the next index");
                calls.push((
                    id.to_string(),
                    call["function"]["name"].as_str().expect("name").to_string(),
                    String::new(),
                ));
            } else {
                assert!(call["function"].get("name").is_none(), "the name comes once");
            }
            calls[index].2.push_str(call["function"]["arguments"].as_str().unwrap_or(""));
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            assert_eq!(i, chunks.len() - 1, "finish_reason only in the last chunk");
            finish = Some(reason.to_string());
        }
    }
    (content, reasoning, calls, finish)
}

#[test]
fn chat_stream_token_by_token_and_in_chunks() {
    let enc = enc();
    let names = chat_tool_names(&weather_request()).expect("names");
    let tokens = completion(
        &enc,
        &[
            analysis("Two cities, two calls."),
            call("get_weather", r#"{"city":"Paris"}"#),
            call("get_weather", r#"{"city":"Rome"}"#),
        ],
        200012,
    );
    for chunk_size in [1, 3, tokens.len()] {
        let mut stream = ChatCompletionStream::new(enc.clone(), names.clone(), "m");
        let mut chunks = Vec::new();
        for piece in tokens.chunks(chunk_size) {
            chunks.extend(stream.process_tokens(piece).expect("processes"));
        }
        chunks.extend(stream.finish(None).expect("finishes"));
        assert!(stream.finish(None).expect("again").is_empty());
        let (content, reasoning, calls, finish) = collect_chat(&chunks);
        assert_eq!(content, "");
        assert_eq!(reasoning, "Two cities, two calls.");
        // The turn ends at the first `<|call|>`: the model waits for that
        // result, so a second call sampled past the stop token (a server that
        // did not stop) is not the model's to make yet, and is ignored.
        assert_eq!(calls.len(), 1);
        assert_eq!((calls[0].1.as_str(), calls[0].2.as_str()), ("get-weather", r#"{"city":"Paris"}"#));
        assert_eq!(finish.as_deref(), Some("tool_calls"));
        assert!(chunks.iter().all(|c| c["id"] == chunks[0]["id"] && c["model"] == "m"));
    }
}

#[test]
fn chat_stream_finish_reasons() {
    let enc = enc();
    let answer = completion(&enc, &[analysis("Easy."), final_answer("2 + 2 = 4.")], 200002);
    let mut stream = ChatCompletionStream::new(enc.clone(), ToolNames::new(), "m");
    let mut chunks = stream.process_tokens(&answer).expect("processes");
    chunks.extend(stream.finish(None).expect("finishes"));
    let (content, reasoning, calls, finish) = collect_chat(&chunks);
    assert_eq!((content.as_str(), reasoning.as_str(), calls.len()), ("2 + 2 = 4.", "Easy.", 0));
    assert_eq!(finish.as_deref(), Some("stop"));

    // Cut before the stop token: the budget ran out.
    let mut stream = ChatCompletionStream::new(enc.clone(), ToolNames::new(), "m");
    let mut chunks = stream.process_tokens(&answer[..answer.len() - 3]).expect("processes");
    assert_eq!(stream.inferred_reason(), FinishReason::Length);
    chunks.extend(stream.finish(None).expect("finishes"));
    assert_eq!(collect_chat(&chunks).3.as_deref(), Some("length"));

    // An explicit reason wins; an empty stream still gives a valid last chunk.
    let mut stream = ChatCompletionStream::new(enc, ToolNames::new(), "m");
    let chunks = stream.finish(Some(FinishReason::Length)).expect("finishes");
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0]["choices"][0]["finish_reason"], "length");
    assert_eq!(chunks[0]["choices"][0]["delta"], json!({"role": "assistant"}));
}

#[test]
fn stream_equals_batch_on_every_fixture_completion() {
    let enc = enc();
    let names = chat_tool_names(&weather_request()).expect("names");
    let replies: Vec<Vec<Message>> = vec![
        vec![final_answer("Hi.")],
        vec![analysis("Think."), final_answer("Done.")],
        vec![
            analysis("Think."),
            Message::from_role_and_content(Role::Assistant, "Plan.").with_channel("commentary"),
            call("get_weather", "{}"),
        ],
    ];
    for reply in replies {
        let tokens = completion(&enc, &reply, 200002);
        let parsed = enc
            .parse_messages_from_completion_tokens(tokens.iter().copied(), Some(Role::Assistant), false)
            .expect("parses");
        let batch = chat_completion_message_from_harmony(&parsed, &names).expect("converts");
        let mut stream = ChatCompletionStream::new(enc.clone(), names.clone(), "m");
        let mut chunks = stream.process_tokens(&tokens).expect("processes");
        chunks.extend(stream.finish(None).expect("finishes"));
        let (content, reasoning, calls, _) = collect_chat(&chunks);
        assert_eq!(batch["content"].as_str().unwrap_or(""), content);
        assert_eq!(batch["reasoning_content"].as_str().unwrap_or(""), reasoning);
        let batch_calls = batch["tool_calls"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(batch_calls, calls.len());
        assert_eq!(stream.messages(), parsed.as_slice());
    }
}

/// Multi-turn tool use: the reply's calls go back into the next request
/// with their ids, and the next prompt holds exactly those calls.
#[test]
fn chat_round_trip_with_parallel_calls() {
    let enc = enc();
    let mut request = weather_request();
    let opts = options("2026-11-21");
    let first = enc.prompt_for_chat_completions(&request, &opts).expect("prompt");
    let reply_tokens = completion(
        &enc,
        &[
            analysis("Need both."),
            call("get_weather", r#"{"city":"Paris"}"#),
            call("get_weather", r#"{"city":"Rome"}"#),
        ],
        200012,
    );
    let parsed = enc
        .parse_messages_from_completion_tokens(reply_tokens.iter().copied(), Some(Role::Assistant), true)
        .expect("parses");
    let names = chat_tool_names(&request).expect("names");
    let mut reply = chat_completion_message_from_harmony(&parsed, &names).expect("converts");
    let ids: Vec<String> = reply["tool_calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect();
    reply["reasoning_content"] = json!("Need both.");
    let messages = request["messages"].as_array_mut().expect("messages");
    messages.push(reply);
    messages.push(json!({"role": "tool", "tool_call_id": ids[1], "content": "rain"}));
    messages.push(json!({"role": "tool", "tool_call_id": ids[0], "content": "sun"}));
    let second = enc.prompt_for_chat_completions(&request, &opts).expect("prompt");
    let text = enc.decode_utf8(&second.tokens).expect("decodes");
    assert!(second.tokens.starts_with(&first.tokens[..first.tokens.len() - 2]));
    let paris = text.find(r#"{"city":"Paris"}"#).expect("paris call");
    let rome = text.find(r#"{"city":"Rome"}"#).expect("rome call");
    assert!(paris < rome, "calls keep their order");
    assert!(
        text.contains("<|start|>assistant<|channel|>analysis<|message|>Need both.<|end|>"),
        "open turn keeps reasoning"
    );
    assert!(text.ends_with(
        "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>rain<|end|>\
         <|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>sun<|end|><|start|>assistant"
    ));
}

#[test]
fn responses_output_items() {
    let names =
        responses_tool_names(&json!({"tools": [{"type": "function", "name": "get-weather"}]}), None).expect("names");
    let messages = [
        analysis("Look it up."),
        Message::from_role_and_content(Role::Assistant, r#"{"query":"paris weather"}"#)
            .with_channel("analysis")
            .with_recipient("browser.search"),
        call("get_weather", r#"{"city":"Paris"}"#),
        Message::from_role_and_content(Role::Assistant, "print(1)").with_channel("analysis").with_recipient("python"),
        final_answer("Sunny."),
    ];
    let items = response_output_from_harmony(&messages, &names).expect("converts");
    let kinds: Vec<&str> = items.iter().map(|i| i["type"].as_str().expect("type")).collect();
    assert_eq!(kinds, ["reasoning", "web_search_call", "function_call", "code_interpreter_call", "message"]);
    assert_eq!(items[0]["content"][0], json!({"type": "reasoning_text", "text": "Look it up."}));
    assert_eq!(items[1]["action"], json!({"type": "search", "query": "paris weather"}));
    assert_eq!(items[2]["name"], "get-weather");
    assert!(items[2]["call_id"].as_str().is_some_and(|id| id.starts_with("call_")));
    assert_eq!(items[3]["code"], "print(1)");
    assert_eq!(items[4]["content"][0]["text"], "Sunny.");
    assert_eq!(items[4]["phase"], "final_answer");
    let ids: HashSet<&str> = items.iter().map(|i| i["id"].as_str().expect("id")).collect();
    assert_eq!(ids.len(), items.len());
}

#[test]
fn responses_stream_event_order() {
    let enc = enc();
    let request = json!({"tools": [{"type": "function", "name": "get-weather"}], "input": "Weather?"});
    let names = responses_tool_names(&request, None).expect("names");
    let tokens = completion(&enc, &[analysis("Call it."), call("get_weather", r#"{"city":"Oslo"}"#)], 200012);
    let mut stream = ResponsesStream::new(enc.clone(), names.clone(), "m", Some(request.clone()));
    let mut events = stream.start();
    for &t in &tokens {
        events.extend(stream.process(t).expect("processes"));
    }
    events.extend(stream.finish(None).expect("finishes"));
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["sequence_number"], i as u64);
    }
    let mut kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().expect("type")).collect();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.reasoning_text.delta",
            "response.reasoning_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let done = events.last().expect("completed");
    let output = done["response"]["output"].as_array().expect("output");
    assert_eq!(output.len(), 2);
    assert_eq!(output[1]["arguments"], r#"{"city":"Oslo"}"#);
    assert_eq!(output[1]["name"], "get-weather");
    assert_eq!(done["response"]["status"], "completed");
    assert_eq!(done["response"]["tools"][0]["name"], "get-weather");
    // Items announced and finished carry the same id.
    let added = events.iter().find(|e| e["type"] == "response.output_item.added").expect("added");
    assert_eq!(added["item"]["id"], output[0]["id"]);

    // Out of budget: response.incomplete.
    let mut stream = ResponsesStream::new(enc, names, "m", None);
    let mut events = stream.process_tokens(&tokens[..4]).expect("processes");
    events.extend(stream.finish(None).expect("finishes"));
    let last = events.last().expect("last");
    assert_eq!(last["type"], "response.incomplete");
    assert_eq!(last["response"]["incomplete_details"]["reason"], "max_output_tokens");
    assert_eq!(last["response"]["output"][0]["status"], "incomplete", "the cut-off item says so");
}

#[test]
fn responses_round_trip_through_output_items() {
    let enc = enc();
    let opts = options("2026-11-21");
    let request = json!({"tools": [{"type": "function", "name": "get-weather"}], "input": "Weather in Oslo?"});
    let names = responses_tool_names(&request, None).expect("names");
    let reply = [analysis("Call it."), call("get_weather", r#"{"city":"Oslo"}"#)];
    let output = response_output_from_harmony(&reply, &names).expect("converts");
    let call_id = output[1]["call_id"].as_str().expect("call id").to_string();
    let mut previous = vec![json!({"role": "user", "content": "Weather in Oslo?"})];
    previous.extend(output);
    let next = json!({
        "tools": request["tools"],
        "input": [{"type": "function_call_output", "call_id": call_id, "output": "snow"}],
    });
    let convo = conversation_from_responses(&next, Some(&previous), &opts).expect("converts");
    let text = enc.decode_utf8(&enc.render_conversation(&convo.messages, None).expect("renders")).expect("decodes");
    assert!(text.contains("<|channel|>analysis<|message|>Call it.<|end|>"));
    assert!(text.contains(
        r#"to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{"city":"Oslo"}<|call|>"#
    ));
    assert!(text.ends_with("<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>snow<|end|>"));
}

#[test]
fn conversions_are_deterministic_apart_from_the_date() {
    let request = weather_request();
    let a = conversation_from_chat_completions(&request, &options("2026-01-01")).expect("converts");
    let b = conversation_from_chat_completions(&request, &options("2026-01-01")).expect("converts");
    assert_eq!(a, b);
    let today = conversation_from_chat_completions(&request, &ConversionOptions::default()).expect("converts");
    let json = serde_json::to_value(&today).expect("serializes");
    assert_eq!(json["messages"][0]["content"][0]["conversation_start_date"], openai_harmony::interop::today());
}

#[test]
fn request_errors_carry_the_field_as_param() {
    use openai_harmony::interop::{conversation_from_chat_completions, ConversionOptions};
    let options = ConversionOptions::default();
    let bad = serde_json::json!({"messages": [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "nope", "content": "1"}]});
    let err = conversation_from_chat_completions(&bad, &options).expect_err("no such call");
    assert_eq!(err.param(), Some("messages[1]"));
    let err =
        conversation_from_chat_completions(&serde_json::json!({"messages": 5}), &options).expect_err("not a list");
    assert_eq!(err.param(), Some("messages"));
    let err = conversation_from_chat_completions(&serde_json::json!([]), &options).expect_err("not an object");
    assert_eq!(err.param(), None);
    let at = openai_harmony::HarmonyError::invalid_request(Some("tool_choice.type"), "tool_choice.type: x");
    assert_eq!((at.param(), at.kind()), (Some("tool_choice.type"), "invalid_request"));
    let whole = openai_harmony::HarmonyError::invalid_request(None, "the request must be a JSON object");
    assert_eq!(whole.param(), None);
}

#[test]
fn chat_completion_objects_are_built_in_the_core() {
    use openai_harmony::chat::{Message, Role};
    use openai_harmony::interop::{chat_completion_object, CompletionInfo, FinishReason, ToolNames};
    let answer = [Message::from_role_and_content(Role::Assistant, "Hi").with_channel("final")];
    let request = serde_json::json!({"model": "m1"});
    let out =
        chat_completion_object(&answer, &ToolNames::new(), Some(&request), CompletionInfo::default()).expect("builds");
    assert_eq!(out["object"], "chat.completion");
    assert_eq!(out["model"], "m1");
    assert!(out["id"].as_str().is_some_and(|id| id.starts_with("chatcmpl_") && id.len() == "chatcmpl_".len() + 24));
    assert_eq!(out["choices"][0]["finish_reason"], "stop");
    assert!(out.get("usage").is_none());
    let call = [Message::from_role_and_content(Role::Assistant, "{}")
        .with_channel("commentary")
        .with_recipient("functions.f")];
    let info = CompletionInfo {
        id: Some("chatcmpl_x".into()),
        created: Some(7),
        usage: Some(serde_json::json!({"total_tokens": 3})),
        ..CompletionInfo::default()
    };
    let out = chat_completion_object(&call, &ToolNames::new(), None, info).expect("builds");
    assert_eq!(
        (out["id"].as_str(), out["created"].as_u64(), out["model"].as_str()),
        (Some("chatcmpl_x"), Some(7), Some("gpt-oss"))
    );
    assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(out["usage"]["total_tokens"], 3);
    let info = CompletionInfo { finish_reason: Some(FinishReason::Length), ..CompletionInfo::default() };
    assert_eq!(
        chat_completion_object(&call, &ToolNames::new(), None, info).expect("builds")["choices"][0]["finish_reason"],
        "length"
    );
}

#[test]
fn prompts_carry_the_sampling_fields_checked_once() {
    let enc = enc();
    let opts = options("2026-12-06");
    let chat = |extra: Value| {
        let mut request = json!({"messages": [{"role": "user", "content": "hi"}]});
        request.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        enc.prompt_for_chat_completions(&request, &opts)
    };
    let p = chat(json!({})).expect("prompt");
    assert_eq!((p.max_tokens, p.n, p.input_items.len()), (None, 1, 0));
    let p = chat(json!({"max_tokens": 7, "max_completion_tokens": 5, "n": 2})).expect("prompt");
    assert_eq!((p.max_tokens, p.n), (Some(5), 2));
    assert_eq!(chat(json!({"max_tokens": 1u64 << 40})).expect("prompt").max_tokens, Some(u32::MAX));
    for (field, value) in [("max_tokens", json!(0)), ("max_completion_tokens", json!(1.5)), ("n", json!("2"))] {
        let err = chat(json!({ field: value })).expect_err("refused");
        assert_eq!(err.param(), Some(field), "{err}");
        assert!(err.to_string().ends_with(&format!("{field} must be a positive integer")), "{err}");
    }
    let p = enc.prompt_for_responses(&json!({"input": "hi", "max_output_tokens": 16}), None, &opts).expect("prompt");
    assert_eq!(p.max_tokens, Some(16));
    assert_eq!(p.input_items, vec![json!({"type": "message", "role": "user", "content": "hi"})]);
    let items = json!([{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}]);
    let p = enc.prompt_for_responses(&json!({ "input": items.clone() }), None, &opts).expect("prompt");
    assert_eq!(Value::Array(p.input_items), items);
}

#[test]
fn a_chat_stream_ends_with_the_usage_chunk_when_asked() {
    let enc = enc();
    let reply = enc.encode_with_special_tokens("<|channel|>final<|message|>Hi<|return|>");
    let run = |request: Value| {
        let mut stream = ChatCompletionStream::new(enc.clone(), ToolNames::new(), "m").with_usage_for(&request, 42);
        stream.process_tokens(&reply).expect("chunks");
        stream.finish(None).expect("finish")
    };
    let asked = run(json!({"stream_options": {"include_usage": true}}));
    let last = asked.last().expect("a chunk");
    assert_eq!(last["choices"], json!([]));
    let n = reply.len();
    assert_eq!(last["usage"], json!({"prompt_tokens": 42, "completion_tokens": n, "total_tokens": 42 + n}));
    assert_eq!(asked[asked.len() - 2]["choices"][0]["finish_reason"], "stop");
    for request in [json!({}), json!({"stream_options": {"include_usage": false}})] {
        assert!(run(request).iter().all(|c| c.get("usage").is_none()));
    }
}

#[test]
fn the_final_response_carries_its_usage_with_the_reasoning_counted() {
    let enc = enc();
    let reply = enc.encode_with_special_tokens(
        "<|channel|>analysis<|message|>Think it over.<|end|><|start|>assistant<|channel|>final<|message|>Hi<|return|>",
    );
    let mut stream = ResponsesStream::new(enc.clone(), ToolNames::new(), "m", None).with_prompt_tokens(30);
    stream.process_tokens(&reply).expect("events");
    let events = stream.finish(None).expect("finish");
    let usage = &events.last().expect("an event")["response"]["usage"];
    let reasoning = enc.encode_ordinary("Think it over.").len();
    assert_eq!(usage["input_tokens"], 30);
    assert_eq!(usage["output_tokens"], reply.len());
    assert_eq!(usage["total_tokens"], 30 + reply.len());
    assert_eq!(usage["output_tokens_details"]["reasoning_tokens"], reasoning);
    let usage_again = openai_harmony::interop::responses_usage(&enc, 30, reply.len(), stream.messages());
    assert_eq!(&usage_again, usage);
    // Without the prompt's length there is no usage to give.
    let mut plain = ResponsesStream::new(enc.clone(), ToolNames::new(), "m", None);
    plain.process_tokens(&reply).expect("events");
    assert!(plain.finish(None).expect("finish").last().expect("an event")["response"].get("usage").is_none());
}
