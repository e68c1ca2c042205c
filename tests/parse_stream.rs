//! Behaviour of `StreamableParser` beyond the vectors: reset, going on after errors,
//! state snapshots, events, tokens outside the vocabulary.

use openai_harmony::chat::Role;
use openai_harmony::{
    DiagnosticKind, HarmonyEncoding, HarmonyError, ParseEvent, Rank, StreamState, StreamableParser, TokenId,
};
use serde_json::json;

use crate::common::enc;

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
fn an_id_no_rank_holds_is_an_error_in_strict_mode_and_skipped_in_lenient_mode() {
    let enc = enc();
    let minus_one = TokenId::OutOfRange("-1".into());
    let mut strict = StreamableParser::new(enc.clone(), Some(Role::Assistant));
    feed(&mut strict, &enc, "<|channel|>final<|message|>Hi");
    let err = strict.process_id(&minus_one).expect_err("strict refuses it");
    assert_eq!(err, HarmonyError::TokenOutOfRange("-1".into()));
    assert!(err.to_string().ends_with("Invalid token for decoding: -1"), "{err}");
    strict.process(200002).expect("the parser is unchanged and goes on");
    assert_eq!(strict.messages()[0].content, vec!["Hi".into()]);

    let ids: Vec<TokenId> = enc
        .encode_with_special_tokens("<|channel|>final<|message|>Hi")
        .into_iter()
        .map(TokenId::Rank)
        .chain([minus_one, TokenId::OutOfRange("18446744073709551616".into()), TokenId::Rank(200002)])
        .collect();
    let parsed =
        StreamableParser::new(enc.clone(), Some(Role::Assistant)).strict(false).parse_ids(&ids).expect("lenient");
    assert_eq!(parsed.messages[0].content, vec!["Hi".into()]);
    let details: Vec<(usize, &str)> = parsed.diagnostics.iter().map(|d| (d.position, d.detail.as_str())).collect();
    let at = ids.len() - 3;
    assert_eq!(
        details,
        [(at, "unknown token id -1 skipped"), (at + 1, "unknown token id 18446744073709551616 skipped")]
    );
    assert!(parsed.diagnostics.iter().all(|d| d.kind == DiagnosticKind::InvalidToken));
    assert_eq!(enc.tokenizer().decode_ids(&ids[at..]), Err(HarmonyError::TokenOutOfRange("-1".into())));
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

/// A parser that is never drained (code written for the reference, which has
/// no events) holds its messages' text and 4 bytes a token, nothing more
/// that grows with the tokens: events are read off the messages when
/// drained, not queued.
#[test]
fn an_undrained_parser_holds_no_more_than_its_text_and_tokens() {
    let enc = enc();
    let body = enc.encode_ordinary("The quick brown fox jumps over the lazy dog. ");
    let header = enc.encode_with_special_tokens("<|channel|>final<|message|>");
    let end = enc.encode_with_special_tokens("<|end|><|start|>assistant");
    // One long message, then many short ones.
    for (messages, chunks) in [(1, 20_000), (500, 40)] {
        let mut p = StreamableParser::new(enc.clone(), Some(Role::Assistant));
        for m in 0..messages {
            p.process_many(&header);
            for _ in 0..chunks {
                p.process_many(&body);
            }
            if m + 1 < messages {
                p.process_many(&end);
            }
        }
        let text: usize = p.messages().iter().map(|m| text_of(m).len()).sum::<usize>() + p.current_content().len();
        let tokens = p.tokens().len();
        assert!(tokens > 150_000);
        // Capacities may be up to twice the lengths.
        let bound = 2 * text + 2 * 4 * tokens + messages * 512 + 4096;
        assert!(p.heap_bytes() <= bound, "{} > {bound} ({text} bytes of text, {tokens} tokens)", p.heap_bytes());
        // The events are bounded by the messages: three a message, one delta each.
        let events = p.events();
        assert_eq!(events.len(), 3 * messages - 1, "{}", events.len());
        let deltas: usize =
            events.iter().map(|e| if let ParseEvent::ContentDelta { text, .. } = e { text.len() } else { 0 }).sum();
        assert_eq!(deltas, text);
        // Reading the events does not drain them.
        assert_eq!(p.events(), events);
        assert_eq!(p.drain_events(), events);
        assert!(p.events().is_empty());
    }
}

fn text_of(m: &openai_harmony::chat::Message) -> &str {
    match m.content.first() {
        Some(openai_harmony::chat::Content::Text(t)) => &t.text,
        _ => "",
    }
}

trait ProcessMany {
    fn process_many(&mut self, tokens: &[Rank]);
}

impl ProcessMany for StreamableParser {
    fn process_many(&mut self, tokens: &[Rank]) {
        for &t in tokens {
            self.process(t).expect("parses");
        }
    }
}

/// Draining on every token, at random points, or once at the end gives the
/// same events, the deltas of one message between two drains merged into
/// one: a drain on every token gets each token's delta
/// (`last_content_delta`) as its own event.
#[test]
fn drains_anywhere_give_the_same_events() {
    let enc = enc();
    let completion = "<|channel|>analysis<|message|>Think 🚀 about é.<|end|><|start|>assistant to=functions.f<|channel|>commentary <|constrain|>json<|message|>{\"a\": 1}<|call|><|start|>assistant<|channel|>final<|message|>Done 🚀<|return|>";
    let tokens = enc.encode_with_special_tokens(completion);
    let merged = |events: Vec<ParseEvent>| {
        let mut out: Vec<ParseEvent> = Vec::new();
        for e in events {
            if let (Some(ParseEvent::ContentDelta { index: i, text: t }), ParseEvent::ContentDelta { index, text }) =
                (out.last_mut(), &e)
            {
                if i == index {
                    t.push_str(text);
                    continue;
                }
            }
            out.push(e);
        }
        out
    };
    let mut once = StreamableParser::new(enc.clone(), Some(Role::Assistant));
    once.process_many(&tokens);
    let all = once.drain_events();
    assert_eq!(all.len(), 9, "{all:?}");
    let mut seed = 7u64;
    for every in [1, 2, 3, 0] {
        let mut p = StreamableParser::new(enc.clone(), Some(Role::Assistant));
        let mut got = Vec::new();
        for &t in &tokens {
            p.process(t).expect("parses");
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let drain = if every == 0 { seed >> 62 == 0 } else { seed % every == 0 };
            if drain {
                let events = p.drain_events();
                if every == 1 {
                    let deltas: Vec<&str> = events
                        .iter()
                        .filter_map(|e| {
                            if let ParseEvent::ContentDelta { text, .. } = e {
                                Some(text.as_str())
                            } else {
                                None
                            }
                        })
                        .collect();
                    let want: Vec<&str> = p.last_content_delta().into_iter().collect();
                    assert_eq!(deltas, want);
                }
                got.extend(events);
            }
        }
        got.extend(p.drain_events());
        assert_eq!(merged(got), all, "draining every {every}");
    }
}

#[test]
fn a_snapshot_restores_the_same_parser() {
    use openai_harmony::ParserSnapshot;
    let enc = enc();
    let texts = [
        "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final<|message|>Done.<|return|>",
        "<|channel|>final {oops<|return|><|start|>assistant<|channel|>final<|message|>x<|end|>",
    ];
    for strict in [true, false] {
        for text in texts {
            let tokens = enc.encode_with_special_tokens(text);
            for cut in 0..=tokens.len() {
                let mut original = StreamableParser::new(enc.clone(), Some(Role::Assistant)).strict(strict);
                for &t in &tokens[..cut] {
                    let _ = original.process(t);
                }
                if cut % 3 == 0 {
                    original.drain_events();
                }
                let snapshot: ParserSnapshot = original.snapshot();
                let json = serde_json::to_string(&snapshot).expect("serializes");
                let back: ParserSnapshot = serde_json::from_str(&json).expect("deserializes");
                let mut restored = StreamableParser::restore(enc.clone(), &back).expect("restores");
                assert_eq!(restored.messages(), original.messages());
                assert_eq!(restored.tokens(), original.tokens());
                assert_eq!(restored.state_data(), original.state_data());
                assert_eq!(restored.drain_events(), original.drain_events());
                let _ = (original.process_eos().is_ok(), restored.process_eos().is_ok());
                assert_eq!(restored.snapshot(), original.snapshot());
            }
        }
    }
    // A snapshot that could not come from a parser is an error, not a panic.
    let mut bad = StreamableParser::new(enc.clone(), None).snapshot();
    bad.drained = (5, true, 9);
    assert!(StreamableParser::restore(enc.clone(), &bad).is_err());
    bad.drained = (0, false, 0);
    bad.ends = vec![3];
    assert!(StreamableParser::restore(enc, &bad).is_err());
}

/// What a lenient parser skips or ignores leaves it in `Header`, not
/// `ExpectStart`: servers that close an output item whenever they see
/// `ExpectStart` (vLLM 0.11's Responses stream) must not close it twice.
#[test]
fn skipped_and_ignored_tokens_are_not_message_ends() {
    let enc = enc();
    let states = |text: &str| -> Vec<StreamState> {
        let mut p = StreamableParser::new(enc.clone(), Some(Role::Assistant)).strict(false);
        enc.encode_with_special_tokens(text)
            .into_iter()
            .map(|t| {
                p.process(t).expect("lenient");
                p.state()
            })
            .collect()
    };
    let got = states("<|channel|>final<|message|>Hi<|end|><|end|><|start|>");
    assert_eq!(&got[4..], [StreamState::ExpectStart, StreamState::Header, StreamState::Header]);
    let got = states("<|channel|>final<|message|>Hi<|return|> more<|end|>");
    assert_eq!(&got[4..], [StreamState::ExpectStart, StreamState::Header, StreamState::Header]);
}

/// `server_repairs`: off, a headerless first message keeps no channel (the
/// reference's lenient reading, which its own tests pin) and a bare
/// recipient stays bare; on, they are reasoning and a function.
#[test]
fn server_repairs_are_opt_in() {
    let enc = enc();
    let parse = |text: &str, server: bool| {
        StreamableParser::new(enc.clone(), Some(Role::Assistant))
            .strict(false)
            .server_repairs(server)
            .parse_all(enc.encode_with_special_tokens(text))
            .expect("lenient")
            .messages
    };
    let refusal = "I must refuse.<|end|><|start|>assistant<|channel|>final<|message|>No.<|return|>";
    assert_eq!(parse(refusal, false)[0].channel, None);
    assert_eq!(parse(refusal, true)[0].channel.as_deref(), Some("analysis"));
    let bare = "<|channel|>commentary to=ask_user <|constrain|>json<|message|>{}<|call|>";
    assert_eq!(parse(bare, false)[0].recipient.as_deref(), Some("ask_user"));
    assert_eq!(parse(bare, true)[0].recipient.as_deref(), Some("functions.ask_user"));
    for builtin in ["python", "browser.search", "container.exec"] {
        let text = format!("<|channel|>analysis to={builtin} code<|message|>x<|call|>");
        assert_eq!(parse(&text, true)[0].recipient.as_deref(), Some(builtin));
    }
    let glued = "<|channel|>commentary to=functions.shelljson<|message|>{}<|call|>";
    assert_eq!(parse(glued, false)[0].recipient.as_deref(), Some("functions.shelljson"));
    let m = &parse(glued, true)[0];
    assert_eq!((m.recipient.as_deref(), m.content_type.as_deref()), (Some("functions.shell"), Some("json")));
    let kept = "<|channel|>commentary to=functions.parse_json<|message|>{}<|call|>";
    assert_eq!(parse(kept, true)[0].recipient.as_deref(), Some("functions.parse_json"));
}

/// A pickled (snapshot) parser keeps its declared tools and server repairs.
#[test]
fn snapshots_keep_the_lenient_options() {
    let enc = enc();
    let text = "<|channel|>commentary to=functions.Web Search <|constrain|>json<|message|>{}<|call|>";
    let mut p = StreamableParser::new(enc.clone(), Some(Role::Assistant))
        .strict(false)
        .server_repairs(true)
        .with_tools(["functions.web_search"]);
    feed(&mut p, &enc, text);
    let restored = StreamableParser::restore(enc.clone(), &p.snapshot()).expect("restores");
    assert_eq!(restored.tools(), ["functions.web_search"]);
    assert_eq!(restored.messages(), p.messages());
    assert_eq!(restored.messages()[0].recipient.as_deref(), Some("functions.web_search"));
}
