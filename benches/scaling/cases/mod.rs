//! The scaling workloads: every public entry point a request reaches, built
//! at a size `n`, shared by the bench (`benches/scaling.rs`, release) and
//! the test (`tests/scaling.rs`, debug). Each case is timed at `n` and `2n`;
//! a linear (or n log n) cost gives a ratio near 2, a quadratic one near 4.
//!
//! Inputs avoid very long single pre-tokenizer pieces (text is words
//! separated by spaces) except in the tokenizer case that is about them.

#![allow(dead_code)]

mod grammar;
mod interop;
mod parse;
mod render;
mod text;

use openai_harmony::chat::{Conversation, Message, Role};
use openai_harmony::{load_harmony_encoding, HarmonyEncoding, HarmonyEncodingName, Rank};

/// The operation of a case at one size, its inputs built.
pub type Op = Box<dyn FnMut()>;

/// One workload.
pub struct Case {
    /// `area/what`, as the bench names it.
    pub name: &'static str,
    /// The bench measures at `bench_n` and `2 * bench_n` (release).
    pub bench_n: usize,
    /// Where the test starts its calibration (debug).
    pub test_n: usize,
    /// A cost known to be super-linear in code outside this crate part's
    /// reach (the reason): benched so the figure shows, left out of the test.
    pub known: Option<&'static str>,
    /// Builds the inputs for size `n` and returns the operation.
    pub make: fn(&HarmonyEncoding, usize) -> Op,
}

/// Every case.
pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(render::cases());
    cases.extend(parse::cases());
    cases.extend(interop::cases());
    cases.extend(text::cases());
    cases.extend(grammar::cases());
    cases
}

/// The encoding, with the render cache off so every render is cold.
pub fn encoding() -> HarmonyEncoding {
    let enc = load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss).expect("encoding loads");
    enc.render_cache().set_capacity(0);
    enc
}

const WORDS: [&str; 16] = [
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "while", "seven", "wizards", "quietly", "hex",
    "bold", "jams", "vex",
];

/// `n` words separated by spaces (short pre-tokenizer pieces).
pub fn words(n: usize) -> String {
    let mut out = String::with_capacity(n * 6);
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(WORDS[i % WORDS.len()]);
    }
    out
}

/// `n` user/assistant exchanges of a few words each.
pub fn exchanges(n: usize) -> Vec<Message> {
    let mut messages = Vec::with_capacity(2 * n);
    for i in 0..n {
        messages.push(Message::from_role_and_content(Role::User, format!("question {i}: {}", words(8))));
        messages.push(Message::from_role_and_content(Role::Assistant, words(10)).with_channel("final"));
    }
    messages
}

/// The tokens of rendered messages.
pub fn rendered(enc: &HarmonyEncoding, messages: &[Message]) -> Vec<Rank> {
    enc.render_conversation(&Conversation::from_messages(messages.to_vec()), None).expect("renders")
}

/// The tokens of rendered assistant messages as a completion: without the
/// `<|start|>assistant` of the prompt.
pub fn completion(enc: &HarmonyEncoding, messages: &[Message]) -> Vec<Rank> {
    let tokens = rendered(enc, messages);
    let prefix = 1 + enc.encode_ordinary("assistant").len();
    tokens[prefix..].to_vec()
}
