use openai_harmony::chat::{Conversation, Role};
use openai_harmony::{load_harmony_encoding, HarmonyEncodingName};
use std::time::Instant;
fn main() {
    let enc = load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss).unwrap();
    enc.render_cache().set_capacity(0);
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string("/tmp/convs.json").unwrap()).unwrap();
    let texts: Vec<String> = all.iter().map(|v| v.to_string()).collect();
    let convs: Vec<Conversation> = texts.iter().map(|t| serde_json::from_str(t).unwrap()).collect();
    for _ in 0..3 {
        let t0 = Instant::now();
        let mut n = 0;
        for t in &texts {
            let c: Conversation = serde_json::from_str(t).unwrap();
            n += enc.render_conversation_for_completion(&c, Role::Assistant, None).unwrap().len();
        }
        let a = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        for t in &texts {
            let c: Conversation = serde_json::from_str(t).unwrap();
            std::hint::black_box(c);
        }
        let b = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        for c in &convs {
            std::hint::black_box(enc.render_conversation_for_completion(c, Role::Assistant, None).unwrap());
        }
        let r = t0.elapsed().as_secs_f64();
        println!(
            "parse+render {:.2} Mtok/s; parse {:.1} ms; render {:.1} ms ({:.2} Mtok/s)",
            n as f64 / a / 1e6,
            b * 1e3,
            r * 1e3,
            n as f64 / r / 1e6
        );
    }
}
