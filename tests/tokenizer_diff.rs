//! Differential tests: our tokenizer against `tiktoken-rs`'s `o200k_harmony`
//! (the oracle), on a mixed corpus of our own (`test-data/tokenizer/`), the
//! benchmark corpus when present, and random strings.

use std::sync::OnceLock;

use openai_harmony::{SpecialTokenSet, Tokenizer};
use proptest::prelude::*;
use tiktoken_rs::CoreBPE;

fn ours() -> &'static Tokenizer {
    Tokenizer::shared().expect("tokenizer loads")
}

fn oracle() -> &'static CoreBPE {
    static ORACLE: OnceLock<CoreBPE> = OnceLock::new();
    ORACLE.get_or_init(|| tiktoken_rs::o200k_harmony().expect("tiktoken-rs loads"))
}

fn check(text: &str) {
    assert_eq!(ours().encode_ordinary(text), oracle().encode_ordinary(text), "encode_ordinary differs on {text:?}");
    assert_eq!(
        ours().encode(text, SpecialTokenSet::All),
        oracle().encode_with_special_tokens(text),
        "encode with special tokens differs on {text:?}"
    );
}

fn corpus_texts() -> Vec<String> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut texts = vec![std::fs::read_to_string(root.join("test-data/tokenizer/mixed.txt")).expect("mixed corpus")];
    for name in ["prose.txt", "code.txt", "multilingual.txt"] {
        match std::fs::read_to_string(root.join("../shared/bench/corpus").join(name)) {
            Ok(t) => texts.push(t),
            Err(_) => eprintln!("note: ../shared/bench/corpus/{name} absent; using our own corpus only"),
        }
    }
    texts
}

#[test]
fn corpus_whole_and_by_line() {
    for text in corpus_texts() {
        check(&text);
        for line in text.split_inclusive('\n') {
            check(line);
        }
    }
}

#[test]
fn corpus_sliding_windows() {
    // Windows that start and end at arbitrary char boundaries exercise the
    // pre-tokenizer at every kind of edge (mid-word, mid-whitespace-run, ...).
    for text in corpus_texts() {
        let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).step_by(7).collect();
        for pair in bounds.windows(2).step_by(3) {
            let end = (pair[0] + 97).min(text.len());
            let end = (end..=text.len()).find(|&e| text.is_char_boundary(e)).unwrap_or(text.len());
            check(&text[pair[0]..end]);
        }
    }
}

#[test]
fn every_single_byte_and_special_token_round_trips() {
    let tok = ours();
    for (name, rank) in tok.special_tokens() {
        assert_eq!(tok.decode_bytes(&[rank]).expect("decodes"), name.as_bytes());
        assert_eq!(tok.encode(name, SpecialTokenSet::All), vec![rank]);
        assert!(tok.is_special_token(rank));
    }
    assert_eq!(tok.special_tokens().count(), 1091);
    for b in 0u8..=255 {
        let rank = tok.encode_ordinary(&String::from_utf8_lossy(&[b]))[0];
        assert!(!tok.is_special_token(rank));
    }
}

fn mixed_string() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        "[a-zA-Z]{1,12}",
        "[0-9]{1,7}",
        "[ \t\r\n]{1,6}",
        "[.,;:!?'\"()\\[\\]{}<>|/\\\\_+=*&^%$#@~`-]{1,4}",
        "'(s|t|re|ve|m|ll|d|S|T|RE|VE|M|LL|D)",
        "\\PC{1,6}",
        "[\u{0400}-\u{04FF}\u{0600}-\u{06FF}\u{0900}-\u{097F}\u{3040}-\u{30FF}\u{4E00}-\u{4FFF}]{1,5}",
        "[\u{1F300}-\u{1F6FF}\u{200B}-\u{200D}\u{0300}-\u{036F}\u{FE0F}]{1,3}",
        Just("<|start|>".to_string()),
        Just("<|reserved_200500|>".to_string()),
    ];
    proptest::collection::vec(pieces, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn random_mixed_strings(text in mixed_string()) {
        check(&text);
    }

    #[test]
    fn random_unicode_strings(text in "\\PC{0,40}") {
        check(&text);
    }

    #[test]
    fn decode_inverts_encode(text in mixed_string()) {
        let tokens = ours().encode(&text, SpecialTokenSet::All);
        prop_assert_eq!(ours().decode_utf8(&tokens).expect("valid utf-8"), text);
    }
}
