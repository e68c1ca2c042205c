//! Behaviour of `StreamableParser` beyond the vectors: reset, going on after errors,
//! state snapshots, events, tokens outside the vocabulary.

mod common;

use openai_harmony::chat::Role;
use openai_harmony::{DiagnosticKind, HarmonyEncoding, HarmonyError, ParseEvent, Rank, StreamState, StreamableParser};
use serde_json::json;

use common::enc;

fn feed(p: &mut StreamableParser, enc: &HarmonyEncoding, text: &str) {
    for t in enc.encode_with_special_tokens(text) {
        p.process(t).expect("parses");
    }
}

#[test]
fn reset_makes_a_parser_reusable() {
    let enc = enc();
    let mut p = StreamableParser::new(enc.clone(), Some(Role::Assistant));
    feed(&mut p, &enc, "<|channel|>final<|message|>one<|return|>");
    assert_eq!(p.messages().len(), 1);
    p.reset();
    assert!(p.messages().is_empty() && p.tokens().is_empty() && p.events().is_empty());
    assert_eq!((p.state(), p.current_role()), (StreamState::Header, Some(Role::Assistant)));
    feed(&mut p, &enc, "<|channel|>final<|message|>two<|return|>");
    assert_eq!(p.messages()[0].content, vec!["two".into()]);
}

#[test]
fn after_an_error_the_parser_goes_on_as_the_reference_does() {
    let enc = enc();
    let mut p = StreamableParser::new(enc.clone(), None);
    let hello = enc.encode_ordinary("hello")[0];
    let err = p.process(hello).map(|_| ()).expect_err("strict: no start token");
    assert_eq!(err, HarmonyError::UnexpectedToken { token: hello, expected: 200006 });
    // The token is recorded, the parser still waits for <|start|>.
    assert_eq!(p.tokens(), [hello]);
    assert_eq!(p.state(), StreamState::ExpectStart);
    feed(&mut p, &enc, "<|start|>assistant<|channel|>final<|message|>ok<|end|>");
    assert_eq!(p.messages().len(), 1);

    // A header error at <|message|> drops the header: the content that
    // follows is refused token by token until the next <|start|>.
    let mut p = StreamableParser::new(enc.clone(), None);
    feed(&mut p, &enc, "<|start|>pythonf");
    assert_eq!(p.process(200008).map(|_| ()).expect_err("unknown role").to_string(), "Unknown role: pythonf");
    assert_eq!(p.state(), StreamState::ExpectStart);
    for t in enc.encode_with_special_tokens("text<|end|>") {
        assert!(matches!(p.process(t), Err(HarmonyError::UnexpectedToken { .. })));
    }
    feed(&mut p, &enc, "<|start|>assistant<|channel|>final<|message|>later<|end|>");
    p.process_eos().expect("ends cleanly");
    assert_eq!(p.messages().len(), 1);
    assert_eq!(p.messages()[0].content, vec!["later".into()]);

    // The role the caller gave survives a failed header.
    let mut p = StreamableParser::new(enc.clone(), Some(Role::Tool));
    feed(&mut p, &enc, "<|channel|>");
    assert!(p.process(200008).is_err());
    assert_eq!((p.state(), p.current_role()), (StreamState::ExpectStart, Some(Role::Tool)));
}

#[test]
fn a_stream_stuck_after_errors_costs_the_same_per_token() {
    // Every content token after a failed header is refused in O(1): the
    // refused tokens do not pile up in a header that is re-read later.
    let enc = enc();
    let mut p = StreamableParser::new(enc.clone(), None);
    feed(&mut p, &enc, "<|start|>bogus");
    assert!(p.process(200008).is_err());
    let word = enc.encode_ordinary(" word")[0];
    for _ in 0..10_000 {
        assert!(p.process(word).is_err());
    }
    assert_eq!(p.state_data(), openai_harmony::parse::StreamStateData::ExpectStart);
    feed(&mut p, &enc, "<|start|>assistant<|message|>x<|end|>");
    assert_eq!(p.messages().len(), 1);
}

#[test]
fn state_data_serializes() {
    let enc = enc();
    let mut p = StreamableParser::new(enc.clone(), Some(Role::Assistant));
    assert_eq!(serde_json::to_value(p.state_data()).expect("json"), json!({"state": "Header", "header_tokens": []}));
    feed(&mut p, &enc, "<|channel|>final<|message|>Hi");
    let data = serde_json::to_value(p.state_data()).expect("json");
    assert_eq!(data["state"], "Content");
    assert_eq!(data["header"]["channel"], "final");
    assert_eq!(data["header"]["author"]["role"], "assistant");
    assert_eq!(data["content_tokens"], json!(enc.encode_ordinary("Hi")));
    p.process(200002).expect("stop");
    assert_eq!(serde_json::to_value(p.state_data()).expect("json"), json!({"state": "ExpectStart"}));
}

#[test]
fn events_follow_the_messages() {
    let enc = enc();
    let mut p = StreamableParser::new(enc.clone(), Some(Role::Assistant));
    feed(&mut p, &enc, "<|channel|>analysis<|message|>Think 🚀.<|end|><|start|>assistant to=functions.f<|channel|>commentary <|constrain|>json<|message|>{}<|call|>");
    let events = p.drain_events();
    assert_eq!(events.len(), 6, "{events:?}");
    assert!(matches!(&events[0], ParseEvent::MessageStarted { index: 0, channel: Some(c), .. } if c == "analysis"));
    assert_eq!(events[1], ParseEvent::ContentDelta { index: 0, text: "Think 🚀.".into() });
    assert!(matches!(&events[2], ParseEvent::MessageCompleted { index: 0, message } if *message == p.messages()[0]));
    match &events[3] {
        ParseEvent::MessageStarted { index: 1, recipient, content_type, .. } => {
            assert_eq!(recipient.as_deref(), Some("functions.f"));
            assert_eq!(content_type.as_deref(), Some("<|constrain|>json"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(p.drain_events().is_empty());
    let json = serde_json::to_value(&events[1]).expect("json");
    assert_eq!(json, json!({"type": "content_delta", "index": 0, "text": "Think 🚀."}));
}

#[test]
fn split_characters_are_held_back() {
    let enc = enc();
    let mut p = StreamableParser::new(enc.clone(), Some(Role::Assistant));
    feed(&mut p, &enc, "<|channel|>final<|message|>");
    // 🚀 as two tokens: F0 9F 9A, then 80.
    let (a, b): (Rank, Rank) = (112927, 222);
    p.process(a).expect("first half");
    assert_eq!((p.last_content_delta(), p.current_content()), (None, ""));
    p.process(b).expect("second half");
    assert_eq!((p.last_content_delta(), p.current_content()), (Some("🚀"), "🚀"));
    // A dangling half at the end of the stream becomes U+FFFD.
    p.process(a).expect("half again");
    p.process_eos().expect("ends");
    assert_eq!(p.messages()[0].content, vec!["🚀\u{FFFD}".into()]);
}

#[test]
fn tokens_outside_the_vocabulary() {
    let enc = enc();
    let bad: Rank = 999_999;
    // Strict, as the reference: no error, but the rest of the message is
    // lost and it ends with one U+FFFD.
    let mut strict = StreamableParser::new(enc.clone(), Some(Role::Assistant));
    feed(&mut strict, &enc, "<|channel|>final<|message|>Hi");
    strict.process(bad).expect("no error in content");
    feed(&mut strict, &enc, " there<|end|>");
    assert_eq!(strict.messages()[0].content, vec!["Hi\u{FFFD}".into()]);
    // In a header it fails the header at <|message|>.
    let mut strict = StreamableParser::new(enc.clone(), Some(Role::Assistant));
    feed(&mut strict, &enc, "<|channel|>final");
    strict.process(bad).expect("kept in the header");
    assert_eq!(strict.process(200008).map(|_| ()).expect_err("undecodable"), HarmonyError::UndecodableHeader);

    let mut lenient = StreamableParser::new(enc.clone(), Some(Role::Assistant)).strict(false);
    feed(&mut lenient, &enc, "<|channel|>final<|message|>Hi");
    lenient.process(bad).expect("lenient skips it");
    lenient.process(200002).expect("stop");
    assert_eq!(lenient.messages()[0].content, vec!["Hi".into()]);
    assert_eq!(lenient.diagnostics()[0].kind, DiagnosticKind::InvalidToken);
    assert_eq!(
        lenient.diagnostics()[0].position,
        enc.encode_with_special_tokens("<|channel|>final<|message|>Hi").len()
    );
}

#[test]
fn the_encoding_is_shared_by_parsers_on_many_threads() {
    let enc = enc();
    let tokens = enc.encode_with_special_tokens("<|channel|>final<|message|>Hello from a thread<|return|>");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let messages =
                    enc.parse_messages_from_completion_tokens(tokens.iter().copied(), Some(Role::Assistant), true);
                assert_eq!(messages.expect("parses")[0].channel.as_deref(), Some("final"));
            });
        }
    });
}
