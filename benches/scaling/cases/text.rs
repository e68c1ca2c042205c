//! Text in and out: conversation JSON, decoding, the tokenizer.

use std::collections::HashSet;
use std::hint::black_box;

use openai_harmony::chat::{Conversation, Message, Role};

use super::{rendered, words, Case};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "json/conversation_many_messages",
            bench_n: 2_000,
            test_n: 100,
            known: None,
            make: |_, n| {
                let json = Conversation::from_messages(super::exchanges(n)).to_json().expect("serializes");
                Box::new(move || {
                    black_box(Conversation::from_json(&json).expect("parses"));
                })
            },
        },
        Case {
            name: "json/conversation_big_schema",
            bench_n: 20_000,
            test_n: 1_000,
            known: None,
            make: |_, n| {
                let props: Vec<String> =
                    (0..n).map(|i| format!(r#""p{i}": {{"type": "string", "enum": ["a", "b"]}}"#)).collect();
                let json = format!(
                    r#"{{"messages": [{{"role": "developer", "content": [{{"type": "developer_content", "tools": {{"functions": {{"name": "functions", "tools": [{{"name": "f", "description": "", "parameters": {{"type": "object", "properties": {{{}}}}}}}]}}}}}}]}}]}}"#,
                    props.join(", ")
                );
                Box::new(move || {
                    black_box(Conversation::from_json(&json).expect("parses"));
                })
            },
        },
        Case {
            name: "decode/utf8",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| {
                let enc = enc.clone();
                let tokens = rendered(&enc, &[Message::from_role_and_content(Role::User, format!("é🚀 {}", words(n)))]);
                Box::new(move || {
                    black_box(enc.decode_utf8(&tokens).expect("decodes"));
                    black_box(enc.decode_bytes(&tokens).expect("decodes"));
                })
            },
        },
        Case {
            name: "tokenizer/encode_words",
            bench_n: 100_000,
            test_n: 5_000,
            known: None,
            make: |enc, n| {
                let enc = enc.clone();
                let text = format!("{} 12345678 héllo wörld\n\n", words(n));
                Box::new(move || {
                    black_box(enc.encode_ordinary(&text));
                })
            },
        },
        Case {
            name: "tokenizer/encode_with_specials",
            bench_n: 20_000,
            test_n: 1_000,
            known: None,
            make: |enc, n| {
                let enc = enc.clone();
                let text = "<|start|>user<|message|>some words here<|end|>".repeat(n);
                let allowed: HashSet<String> = ["<|start|>", "<|message|>"].into_iter().map(String::from).collect();
                Box::new(move || {
                    black_box(enc.encode_with_special_tokens(&text));
                    black_box(enc.encode(&text, &allowed));
                })
            },
        },
        Case {
            name: "tokenizer/encode_one_letter_run",
            bench_n: 20_000,
            test_n: 1_000,
            known: None,
            make: |enc, n| {
                let enc = enc.clone();
                let text = "a".repeat(n);
                Box::new(move || {
                    black_box(enc.encode_ordinary(&text));
                })
            },
        },
        Case {
            name: "tokenizer/encode_bracket_run",
            bench_n: 20_000,
            test_n: 1_000,
            known: None,
            make: |enc, n| {
                let enc = enc.clone();
                let text = "[".repeat(n);
                Box::new(move || {
                    black_box(enc.encode_ordinary(&text));
                })
            },
        },
    ]
}
