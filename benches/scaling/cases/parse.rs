//! Parsing: batch and streaming, strict and lenient, well-formed and not.

use std::hint::black_box;

use openai_harmony::chat::{Message, Role};
use openai_harmony::{FormattingToken, HarmonyEncoding, Rank, StreamableParser};

use super::{completion, exchanges, rendered, words, Case, Op};

fn tok(enc: &HarmonyEncoding, t: FormattingToken) -> Rank {
    enc.formatting_token(t)
}

/// Batch parsing of these tokens (a strict error ends it; that is timed too).
fn batch(enc: &HarmonyEncoding, tokens: Vec<Rank>, role: Option<Role>, strict: bool) -> Op {
    let enc = enc.clone();
    Box::new(move || {
        black_box(enc.parse_messages_from_completion_tokens(tokens.iter().copied(), role, strict).ok());
    })
}

/// Token by token through a `StreamableParser`, draining events and reading
/// the last delta after each token, as a server does; errors are skipped
/// (a strict parser goes on after one).
fn stream(enc: &HarmonyEncoding, tokens: Vec<Rank>, role: Option<Role>, strict: bool) -> Op {
    let enc = enc.clone();
    Box::new(move || {
        let mut parser = StreamableParser::new(enc.clone(), role).strict(strict);
        for &t in &tokens {
            let _ = parser.process(t);
            black_box(parser.drain_events());
            black_box(parser.last_content_delta());
        }
        let _ = parser.process_eos();
        black_box(parser.messages().len());
    })
}

/// `<|start|>assistant` followed by `body`, repeated `n` times.
fn repeated(enc: &HarmonyEncoding, n: usize, body: &[Rank]) -> Vec<Rank> {
    let mut one = vec![tok(enc, FormattingToken::Start)];
    one.extend(enc.encode_ordinary("assistant"));
    one.extend_from_slice(body);
    one.repeat(n)
}

/// `<|start|>assistant`, a header of `middle`, `<|message|>hi<|end|>`.
fn header_of(enc: &HarmonyEncoding, middle: Vec<Rank>) -> Vec<Rank> {
    let mut tokens = vec![tok(enc, FormattingToken::Start)];
    tokens.extend(enc.encode_ordinary("assistant"));
    tokens.extend(middle);
    tokens.push(tok(enc, FormattingToken::Message));
    tokens.extend(enc.encode_ordinary("hi"));
    tokens.push(tok(enc, FormattingToken::End));
    tokens
}

fn long_message(enc: &HarmonyEncoding, n: usize) -> Vec<Rank> {
    rendered(enc, &[Message::from_role_and_content(Role::Assistant, words(n)).with_channel("final")])
}

fn unterminated_headers(enc: &HarmonyEncoding, n: usize) -> Vec<Rank> {
    let mut body = vec![tok(enc, FormattingToken::Channel)];
    body.extend(enc.encode_ordinary("analysis some words that never get a message token"));
    body.push(tok(enc, FormattingToken::End));
    repeated(enc, n, &body)
}

fn long_header_words(enc: &HarmonyEncoding, n: usize) -> Vec<Rank> {
    header_of(enc, enc.encode_ordinary(&format!(" to=functions.f {}", words(n))))
}

/// `n` calls whose recipients need the declared tools to be read
/// (`to=functions.Tool 7` for `functions.tool_7`), against `n` declared tools.
fn damaged_calls(enc: &HarmonyEncoding, n: usize) -> Op {
    let enc = enc.clone();
    let mut tokens = Vec::new();
    for i in 0..n {
        tokens.push(tok(&enc, FormattingToken::Start));
        tokens.extend(enc.encode_ordinary("assistant"));
        tokens.push(tok(&enc, FormattingToken::Channel));
        tokens.extend(enc.encode_ordinary(&format!("commentary to=functions.Tool {i} ")));
        tokens.push(tok(&enc, FormattingToken::Message));
        tokens.extend(enc.encode_ordinary("{}"));
        tokens.push(tok(&enc, FormattingToken::Call));
    }
    let tools: Vec<String> = (0..n).map(|i| format!("functions.tool_{i}")).collect();
    Box::new(move || {
        let parser = StreamableParser::new(enc.clone(), None).strict(false).with_tools(tools.iter().cloned());
        black_box(parser.parse_all(tokens.iter().copied()).ok());
    })
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "parse/lenient_tokens_after_return",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| {
                let mut tokens =
                    completion(enc, &[Message::from_role_and_content(Role::Assistant, "Hi.").with_channel("final")]);
                if let Some(last) = tokens.last_mut() {
                    *last = tok(enc, FormattingToken::Return);
                }
                tokens.extend(long_message(enc, n));
                stream(enc, tokens, Some(Role::Assistant), false)
            },
        },
        Case {
            name: "parse/lenient_header_runs_into_answer",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| {
                let mut tokens = vec![tok(enc, FormattingToken::Channel)];
                tokens.extend(enc.encode_ordinary(&format!("final {}", words(n))));
                tokens.push(tok(enc, FormattingToken::Return));
                stream(enc, tokens, Some(Role::Assistant), false)
            },
        },
        Case {
            name: "parse/lenient_declared_tools_and_damaged_calls",
            bench_n: 5_000,
            test_n: 250,
            known: None,
            make: damaged_calls,
        },
        Case {
            name: "parse/batch_strict_many_messages",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| batch(enc, rendered(enc, &exchanges(n)), None, true),
        },
        Case {
            name: "parse/batch_lenient_many_messages",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| batch(enc, rendered(enc, &exchanges(n)), None, false),
        },
        Case {
            name: "parse/batch_strict_long_message",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| batch(enc, long_message(enc, n), None, true),
        },
        Case {
            name: "parse/stream_strict_many_messages",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| stream(enc, rendered(enc, &exchanges(n)), None, true),
        },
        Case {
            name: "parse/stream_lenient_many_messages",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |enc, n| stream(enc, rendered(enc, &exchanges(n)), None, false),
        },
        Case {
            name: "parse/stream_strict_long_message",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| stream(enc, long_message(enc, n), None, true),
        },
        Case {
            name: "parse/stream_lenient_completion_with_role",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| {
                let m =
                    Message::from_role_and_content(Role::Assistant, format!("🚀 {}", words(n))).with_channel("final");
                stream(enc, completion(enc, &[m]), Some(Role::Assistant), false)
            },
        },
        Case {
            name: "parse/lenient_headers_without_message",
            bench_n: 5_000,
            test_n: 250,
            known: None,
            make: |enc, n| stream(enc, unterminated_headers(enc, n), None, false),
        },
        Case {
            name: "parse/strict_headers_without_message",
            bench_n: 5_000,
            test_n: 250,
            known: None,
            make: |enc, n| stream(enc, unterminated_headers(enc, n), None, true),
        },
        Case {
            name: "parse/strict_long_header",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| stream(enc, long_header_words(enc, n), None, true),
        },
        Case {
            name: "parse/lenient_long_header",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| stream(enc, long_header_words(enc, n), None, false),
        },
        Case {
            name: "parse/lenient_header_many_channels",
            bench_n: 20_000,
            test_n: 1_000,
            known: None,
            make: |enc, n| {
                let mut one = vec![tok(enc, FormattingToken::Channel)];
                one.extend(enc.encode_ordinary("analysis to=x "));
                stream(enc, header_of(enc, one.repeat(n)), None, false)
            },
        },
        Case {
            name: "parse/lenient_header_stray_specials",
            bench_n: 20_000,
            test_n: 1_000,
            known: None,
            make: |enc, n| {
                let mut one = vec![tok(enc, FormattingToken::Return)];
                one.extend(enc.encode_ordinary(" word"));
                let mut middle = enc.encode_ordinary("<|channel|>");
                middle.extend(one.repeat(n));
                stream(enc, header_of(enc, middle), None, false)
            },
        },
        Case {
            name: "parse/strict_many_starts_in_header",
            bench_n: 50_000,
            test_n: 2_500,
            known: None,
            make: |enc, n| {
                let middle = vec![tok(enc, FormattingToken::Start); n];
                stream(enc, header_of(enc, middle), None, true)
            },
        },
        Case {
            name: "parse/lenient_many_starts",
            bench_n: 50_000,
            test_n: 2_500,
            known: None,
            make: |enc, n| {
                let mut tokens = vec![tok(enc, FormattingToken::Start); n];
                tokens.extend(long_message(enc, 10));
                stream(enc, tokens, None, false)
            },
        },
        Case {
            name: "parse/lenient_starts_between_spaces",
            bench_n: 20_000,
            test_n: 1_000,
            known: None,
            make: |enc, n| {
                let mut one = vec![tok(enc, FormattingToken::Start)];
                one.extend(enc.encode_ordinary(" "));
                let mut tokens = one.repeat(n);
                tokens.extend(long_message(enc, 10));
                stream(enc, tokens, None, false)
            },
        },
        Case {
            name: "parse/lenient_unterminated_header_words",
            bench_n: 50_000,
            test_n: 2_500,
            known: None,
            make: |enc, n| {
                // Header words (recipients, channels) up to a stop token:
                // the unterminated-header split reads them all.
                let mut one = enc.encode_ordinary(" to=a");
                one.push(tok(enc, FormattingToken::Channel));
                one.extend(enc.encode_ordinary("final"));
                let mut tokens = vec![tok(enc, FormattingToken::Start)];
                tokens.extend(enc.encode_ordinary("assistant"));
                tokens.extend(one.repeat(n));
                tokens.extend(enc.encode_ordinary(" and then some content"));
                tokens.push(tok(enc, FormattingToken::End));
                stream(enc, tokens, None, false)
            },
        },
        Case {
            name: "parse/lenient_glued_role",
            bench_n: 50_000,
            test_n: 2_500,
            known: None,
            make: |enc, n| {
                let mut middle = enc.encode_ordinary("assistant").repeat(n);
                middle.extend(enc.encode_ordinary("assistantfinal"));
                stream(enc, header_of(enc, middle), None, false)
            },
        },
        Case {
            name: "parse/lenient_text_without_start",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| {
                let mut tokens = enc.encode_ordinary(&words(n));
                tokens.push(tok(enc, FormattingToken::End));
                stream(enc, tokens, None, false)
            },
        },
        Case {
            name: "parse/lenient_unknown_ids_in_content",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| {
                let mut tokens = long_message(enc, 3);
                let end = tokens.pop().unwrap_or_default();
                tokens.extend(std::iter::repeat_n(999_999, n));
                tokens.push(end);
                stream(enc, tokens, None, false)
            },
        },
        Case {
            name: "parse/strict_unknown_ids_in_content",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| {
                let mut tokens = long_message(enc, 3);
                let end = tokens.pop().unwrap_or_default();
                tokens.extend(std::iter::repeat_n(999_999, n));
                tokens.push(end);
                stream(enc, tokens, None, true)
            },
        },
        Case {
            name: "parse/lenient_split_characters",
            bench_n: 50_000,
            test_n: 2_500,
            known: None,
            make: |enc, n| {
                // Bytes of multi-byte characters, one byte per token, and
                // invalid bytes among them.
                let bytes: Vec<Rank> = "é🚀"
                    .bytes()
                    .chain([0xff])
                    .map(|b| {
                        (0..enc.tokenizer().n_ordinary() as Rank)
                            .find(|&t| enc.tokenizer().token_bytes(t) == Some(&[b][..]))
                            .unwrap_or(0)
                    })
                    .collect();
                let mut tokens = long_message(enc, 3);
                let end = tokens.pop().unwrap_or_default();
                for _ in 0..n {
                    tokens.extend_from_slice(&bytes);
                }
                tokens.push(end);
                stream(enc, tokens, None, false)
            },
        },
    ]
}
