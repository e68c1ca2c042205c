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

/// The o200k pattern as tiktoken publishes it, run by a backtracking engine.
fn pattern() -> &'static fancy_regex::Regex {
    static PATTERN: OnceLock<fancy_regex::Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        fancy_regex::Regex::new(concat!(
            r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            r"|\p{N}{1,3}",
            r"| ?[^\s\p{L}\p{N}]+[\r\n/]*",
            r"|\s*[\r\n]+",
            r"|\s+(?!\S)",
            r"|\s+",
        ))
        .expect("o200k pattern compiles")
    })
}

/// The splitter's pieces are the pattern's matches.
fn check_pieces(text: &str) {
    let expected: Vec<&str> = pattern().find_iter(text).map(|m| m.expect("no backtrack limit").as_str()).collect();
    let got: Vec<&str> = ours().pre_tokenize(text).collect();
    assert_eq!(got, expected, "pieces differ on {text:?}");
}

fn check(text: &str) {
    check_pieces(text);
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

#[test]
fn every_code_point_in_every_context() {
    // Each code point where each alternative of the pattern can begin, end
    // or give characters back: after a prefix, inside and after words of
    // each case, before contractions, digits, punctuation, line breaks and
    // runs of spaces.
    let contexts =
        ["{}", "a{}b", "A{}a", "{}{}A", " {}'s", "x{}'LL", "'{}9", "  {} ", "\n{}\n ", "!{}/\n", "{}\u{300}x"];
    let mut batch = String::new();
    for cp in (0u32..0x11_0000).filter(|cp| *cp < 0x3_0000 || cp % 17 == 0) {
        let Some(c) = char::from_u32(cp) else { continue };
        let c = c.to_string();
        for ctx in contexts {
            check_pieces(&ctx.replace("{}", &c));
        }
        batch.push_str(&c);
        batch.push(if cp % 3 == 0 { ' ' } else { 'k' });
        if batch.len() > 4000 {
            check(&batch);
            batch.clear();
        }
    }
    check(&batch);
}

#[test]
fn pieces_of_every_length() {
    // Long pieces take the heap merge; every length up to well past the
    // switch, for runs of one character, of two, and of real long tokens.
    let units =
        ["a", "A", "ab", "z9", "0", "\u{4e00}", "\u{3042}", "deadbeef", "QUJD", "\u{1F600}", " ", "\n", "-", "\u{438}"];
    for unit in units {
        let mut text = String::new();
        for _ in 0..260 {
            text.push_str(unit);
            check(&text);
        }
    }
    for len in [1000, 4096, 10_000] {
        check(&"a".repeat(len));
        check(&"0123456789abcdef".repeat(len / 16));
    }
}

#[test]
fn long_base64_and_hex_pieces() {
    // Pseudo-random long words, as in data URLs and hashes.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for len in [97, 150, 400, 1200, 5000] {
        let text: String = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                alphabet[(x % 64) as usize] as char
            })
            .collect();
        check(&text);
        check(&text.to_lowercase().replace(|c: char| !c.is_ascii_alphabetic(), "q"));
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
    fn random_long_pieces(text in prop_oneof![
        "[ab]{90,500}",
        "[a-zA-Z]{90,700}",
        "[a-f]{90,400}",
        "[A-Za-z+/]{90,600}",
        "[\u{4e00}-\u{4e40}\u{3041}-\u{3060}]{30,250}",
        "[\u{0915}-\u{0939}\u{093e}-\u{094d}]{30,250}",
        "[ \t]{90,400}",
        "[!-/:-@]{90,400}",
        "[a\u{301}\u{0627}\u{064b}]{40,300}",
    ]) {
        check(&text);
    }

    #[test]
    fn decode_inverts_encode(text in mixed_string()) {
        let tokens = ours().encode(&text, SpecialTokenSet::All);
        prop_assert_eq!(ours().decode_utf8(&tokens).expect("valid utf-8"), text);
    }
}
