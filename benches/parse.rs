//! Criterion benches for the parser: streaming and batch parsing of
//! analysis-plus-final completions, in tokens per second.
//!
//! `cargo bench --bench parse`. The completion is rendered from the bench
//! corpus (`../shared/bench/corpus/prose.txt` when present, else built-in prose):
//! an analysis message and a final answer, as gpt-oss writes them.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use openai_harmony::chat::{Message, Role};
use openai_harmony::{load_harmony_encoding, HarmonyEncoding, HarmonyEncodingName, Rank, StreamableParser};

fn corpus() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/bench/corpus/prose.txt");
    std::fs::read_to_string(path).unwrap_or_else(|_| {
        "Let me think about the question step by step. 東京 is the capital; the answer follows. 🚀\n".repeat(100)
    })
}

/// `<|channel|>analysis<|message|>…<|end|><|start|>assistant<|channel|>final<|message|>…<|return|>`
/// with roughly `analysis_chars` and `final_chars` of text.
fn completion(enc: &HarmonyEncoding, text: &str, analysis_chars: usize, final_chars: usize) -> Vec<Rank> {
    let cut = |from: usize, n: usize| -> String { text.chars().cycle().skip(from).take(n).collect() };
    let analysis = Message::from_role_and_content(Role::Assistant, cut(0, analysis_chars)).with_channel("analysis");
    let answer =
        Message::from_role_and_content(Role::Assistant, cut(analysis_chars, final_chars)).with_channel("final");
    let mut tokens = enc.render(&analysis, None).expect("renders");
    tokens.extend(enc.render(&answer, None).expect("renders"));
    // The prompt ended with `<|start|>assistant`; the completion starts after it.
    tokens.drain(..2);
    if let Some(last) = tokens.last_mut() {
        *last = 200_002; // <|return|>
    }
    tokens
}

fn benches(c: &mut Criterion) {
    let enc = load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss).expect("encoding loads");
    let text = corpus();
    for (name, a, f) in [("short", 400, 200), ("long", 8000, 3000)] {
        let tokens = completion(&enc, &text, a, f);
        let mut group = c.benchmark_group(format!("parse/{name}_{}_tokens", tokens.len()));
        group.throughput(Throughput::Elements(tokens.len() as u64));
        group.bench_function("stream", |b| {
            let mut parser = StreamableParser::new(enc.clone(), Some(Role::Assistant));
            b.iter(|| {
                parser.reset();
                for &t in &tokens {
                    parser.process(black_box(t)).expect("parses");
                    black_box(parser.last_content_delta());
                }
                parser.process_eos().expect("ends");
                black_box(parser.drain_events());
            })
        });
        group.bench_function("stream_lenient", |b| {
            let mut parser = StreamableParser::new(enc.clone(), Some(Role::Assistant)).strict(false);
            b.iter(|| {
                parser.reset();
                for &t in &tokens {
                    parser.process(black_box(t)).expect("parses");
                }
                parser.process_eos().expect("ends");
                black_box(parser.messages().len());
            })
        });
        group.bench_function("batch", |b| {
            b.iter(|| {
                black_box(enc.parse_messages_from_completion_tokens(
                    tokens.iter().copied(),
                    Some(Role::Assistant),
                    true,
                ))
            })
        });
        group.finish();
    }
    past_errors(c, &enc);
}

/// Strict streaming past errors, as a server that catches `HarmonyError`
/// and keeps feeding tokens: a header fails, then every content token is
/// refused until the next `<|start|>`. The per-token cost must be the same
/// for 10k and 100k tokens (the refused tokens do not pile up).
fn past_errors(c: &mut Criterion, enc: &HarmonyEncoding) {
    let bad = enc.encode_with_special_tokens("<|start|>bogusrole<|message|>");
    let word = enc.encode_ordinary(" word")[0];
    let mut group = c.benchmark_group("parse/strict_past_errors");
    for n in [10_000usize, 100_000] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("{n}_tokens"), |b| {
            let mut parser = StreamableParser::new(enc.clone(), None);
            b.iter(|| {
                parser.reset();
                for &t in &bad {
                    let _ = black_box(parser.process(t).is_err());
                }
                for _ in 0..n {
                    let _ = black_box(parser.process(word).is_err());
                }
            })
        });
    }
    group.finish();
}

criterion_group!(parse, benches);
criterion_main!(parse);
