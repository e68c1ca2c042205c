#![no_main]
//! Differential: our o200k_harmony encoder against tiktoken-rs on arbitrary
//! Unicode text (ordinary text, and text with special tokens allowed).
//!
//! Special tokens are compared over tiktoken-rs's own set: ours has the
//! reference's 1,091 (ids up to 201088), tiktoken-rs's stops short of that,
//! so a text naming one of the last reserved tokens is special to us only.

use std::collections::HashSet;
use std::sync::OnceLock;

use openai_harmony::{SpecialTokenSet, Tokenizer};

fn ours() -> &'static Tokenizer {
    static T: OnceLock<&'static Tokenizer> = OnceLock::new();
    T.get_or_init(|| Tokenizer::shared().expect("tokenizer loads"))
}

fn reference() -> &'static tiktoken_rs::CoreBPE {
    static R: OnceLock<tiktoken_rs::CoreBPE> = OnceLock::new();
    R.get_or_init(|| tiktoken_rs::o200k_harmony().expect("tiktoken-rs loads"))
}

fn reference_specials() -> &'static HashSet<String> {
    static S: OnceLock<HashSet<String>> = OnceLock::new();
    S.get_or_init(|| reference().special_tokens().into_iter().map(String::from).collect())
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    assert_eq!(ours().encode_ordinary(&text), reference().encode_ordinary(&text), "ordinary: {text:?}");
    assert_eq!(
        ours().encode(&text, SpecialTokenSet::Only(reference_specials())),
        reference().encode_with_special_tokens(&text),
        "special: {text:?}"
    );
});
