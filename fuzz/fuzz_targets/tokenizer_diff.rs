#![no_main]
//! Differential: our o200k_harmony encoder against tiktoken-rs on arbitrary
//! Unicode text (ordinary text, and text with special tokens allowed).

use std::sync::OnceLock;

use openai_harmony::Tokenizer;

fn ours() -> &'static Tokenizer {
    static T: OnceLock<&'static Tokenizer> = OnceLock::new();
    T.get_or_init(|| Tokenizer::shared().expect("tokenizer loads"))
}

fn reference() -> &'static tiktoken_rs::CoreBPE {
    static R: OnceLock<tiktoken_rs::CoreBPE> = OnceLock::new();
    R.get_or_init(|| tiktoken_rs::o200k_harmony().expect("tiktoken-rs loads"))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    assert_eq!(ours().encode_ordinary(&text), reference().encode_ordinary(&text), "ordinary: {text:?}");
    assert_eq!(ours().encode_with_special_tokens(&text), reference().encode_with_special_tokens(&text), "special: {text:?}");
});
