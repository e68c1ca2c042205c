//! With the render cache turned off (a process of its own: the cache is
//! process-wide), rendering gives the same tokens as with it on.

mod common;

use common::enc;
use openai_harmony::chat::Conversation;

#[test]
fn cache_on_and_off_agree() {
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
}
