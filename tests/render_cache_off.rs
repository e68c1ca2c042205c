//! The process-wide render cache, in a test process of its own: turning it
//! off gives the same tokens as with it on, and many threads evicting from
//! a tiny cache still get exact results. The tests change the global
//! budget, so they take turns.

use std::sync::Mutex;

static GLOBAL_CACHE: Mutex<()> = Mutex::new(());

mod common;

use common::enc;
use openai_harmony::chat::Conversation;

#[test]
fn cache_on_and_off_agree() {
    let _turn = GLOBAL_CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let Some(vectors) = common::read_vectors("render.jsonl") else { return };
    let enc = enc();
    let convos: Vec<Conversation> =
        vectors.iter().filter_map(|v| serde_json::from_value(v["conversation"].clone()).ok()).collect();
    let cached: Vec<_> = convos.iter().map(|c| enc.render_conversation(c, None)).collect();
    let cached_again: Vec<_> = convos.iter().map(|c| enc.render_conversation(c, None)).collect();
    enc.render_cache().set_capacity(0);
    let fresh: Vec<_> = convos.iter().map(|c| enc.render_conversation(c, None)).collect();
    assert_eq!(cached, fresh);
    assert_eq!(cached_again, fresh);
    assert_eq!(enc.render_cache().size_bytes(), 0);
    enc.render_cache().set_capacity(openai_harmony::render::DEFAULT_CAPACITY_BYTES);
}

#[test]
fn concurrent_renders_with_a_tiny_cache_agree() {
    // Eight threads render overlapping conversations while a 64 KiB budget
    // forces constant eviction: every result equals the single-thread one.
    use openai_harmony::chat::{Message, Role};
    let _turn = GLOBAL_CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let enc = enc();
    let convos: Vec<Conversation> = (0..40)
        .map(|i| {
            Conversation::from_messages((0..=i % 7).map(|j| {
                Message::from_role_and_content(
                    Role::User,
                    format!("message {j} of {} {}", i % 5, "text ".repeat(j * 20)),
                )
            }))
        })
        .collect();
    let want: Vec<_> = convos.iter().map(|c| enc.render_conversation(c, None)).collect();
    let global = enc.render_cache();
    let before = global.capacity();
    global.set_capacity(64 * 1024);
    std::thread::scope(|s| {
        for t in 0..8 {
            let (enc, convos, want) = (&enc, &convos, &want);
            s.spawn(move || {
                for round in 0..20 {
                    for (i, c) in convos.iter().enumerate().skip((t + round) % 3) {
                        assert_eq!(enc.render_conversation(c, None), want[i]);
                    }
                }
            });
        }
    });
    assert!(global.size_bytes() <= 64 * 1024 + 4096);
    global.set_capacity(before);
}
