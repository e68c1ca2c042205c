//! Criterion benches: loading the encoding, encoding text, rendering (with
//! the render cache warm and turned off).
//!
//! `cargo bench --bench encoding`. The `load/tokenizer` figure is the cost of
//! building the `o200k_harmony` tokenizer from the embedded vocabulary, which
//! is what the first `load_harmony_encoding` call in a process pays.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use openai_harmony::chat::{Conversation, DeveloperContent, Message, Role, SystemContent, ToolDescription};
use openai_harmony::{load_harmony_encoding, HarmonyEncodingName, Tokenizer};
use serde_json::json;

fn conversation() -> Conversation {
    let weather = ToolDescription::new(
        "get_current_weather",
        "Gets the current weather in the provided location.",
        Some(json!({
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "format": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}
            },
            "required": ["location"]
        })),
    );
    let mut messages = vec![
        Message::from_role_and_content(Role::System, SystemContent::new().with_conversation_start_date("2025-06-28")),
        Message::from_role_and_content(
            Role::Developer,
            DeveloperContent::new().with_instructions("Answer briefly.").with_function_tools(vec![weather]),
        ),
    ];
    for i in 0..20 {
        messages.push(Message::from_role_and_content(Role::User, format!("Question number {i}: what is the weather?")));
        messages.push(
            Message::from_role_and_content(Role::Assistant, format!("It is sunny, {i} degrees.")).with_channel("final"),
        );
    }
    Conversation::from_messages(messages)
}

fn benches(c: &mut Criterion) {
    c.bench_function("load/tokenizer", |b| b.iter(|| black_box(Tokenizer::o200k_harmony())));

    let enc = load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss).expect("encoding loads");
    let prose = "The quick brown fox jumps over the lazy dog. ".repeat(200);
    c.bench_function("encode/prose_9kB", |b| b.iter(|| black_box(enc.encode_ordinary(black_box(&prose)))));
    // The shared benchmark corpus (prose, code, multilingual) when it is
    // beside the project, else our own mixed text; and a run of one letter,
    // one 100 kB piece, which must cost a small multiple of ordinary text
    // per byte (it was quadratic: seconds).
    let corpus = ["prose", "code", "multilingual"]
        .iter()
        .filter_map(|n| {
            std::fs::read_to_string(format!("{}/../shared/bench/corpus/{n}.txt", env!("CARGO_MANIFEST_DIR"))).ok()
        })
        .collect::<String>();
    let corpus = if corpus.is_empty() {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/test-data/tokenizer/mixed.txt"))
            .unwrap_or_default()
    } else {
        corpus
    };
    let mut group = c.benchmark_group("encode");
    group.throughput(criterion::Throughput::Bytes(corpus.len() as u64));
    group.bench_function("corpus", |b| b.iter(|| black_box(enc.encode_ordinary(black_box(&corpus)))));
    let run = "a".repeat(100_000);
    group.throughput(criterion::Throughput::Bytes(run.len() as u64));
    group.bench_function("run_of_a_100kB", |b| b.iter(|| black_box(enc.encode_ordinary(black_box(&run)))));
    group.finish();

    let convo = conversation();
    // Every message cached (a server re-rendering its history) ...
    c.bench_function("render/conversation_42_messages_cached", |b| {
        b.iter(|| black_box(enc.render_conversation_for_completion(black_box(&convo), Role::Assistant, None)))
    });
    // A long history: 320 messages of about 1 kB each, all cached.
    let long = Conversation::from_messages((0..320).map(|i| {
        let text = format!("Turn {i}: {}", "The quick brown fox jumps over the lazy dog. ".repeat(22));
        Message::from_role_and_content(if i % 2 == 0 { Role::User } else { Role::Assistant }, text)
    }));
    c.bench_function("render/conversation_320_long_messages_cached", |b| {
        b.iter(|| black_box(enc.render_conversation_for_completion(black_box(&long), Role::Assistant, None)))
    });
    // ... and rendered from scratch.
    let capacity = enc.render_cache().capacity();
    enc.render_cache().set_capacity(0);
    c.bench_function("render/conversation_42_messages_uncached", |b| {
        b.iter(|| black_box(enc.render_conversation_for_completion(black_box(&convo), Role::Assistant, None)))
    });
    // What the uncached render costs beyond its tokenizer: the same text
    // (each run of ordinary tokens between formatting tokens, decoded back)
    // encoded run by run.
    let tokens = enc.render_conversation_for_completion(&convo, Role::Assistant, None).expect("renders");
    let mut pieces: Vec<String> = Vec::new();
    let mut run: Vec<u32> = Vec::new();
    for &t in &tokens {
        if enc.tokenizer().is_special_token(t) {
            if !run.is_empty() {
                pieces.push(enc.tokenizer().decode_lossy(&run));
                run.clear();
            }
        } else {
            run.push(t);
        }
    }
    c.bench_function("render/same_text_encoded", |b| {
        b.iter(|| {
            for p in &pieces {
                black_box(enc.encode_ordinary(black_box(p)));
            }
        })
    });
    enc.render_cache().set_capacity(capacity);
}

criterion_group!(group, benches);
criterion_main!(group);
