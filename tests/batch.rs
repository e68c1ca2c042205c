//! Batch rendering and parsing equal their one-by-one counterparts, in
//! order, with per-item errors; and the render cache never changes output.

use crate::common::{enc, tokens_of};
use openai_harmony::chat::{Author, Conversation, Message, Role};
use openai_harmony::RenderKind;

fn vector_conversations() -> Vec<Conversation> {
    let Some(vectors) = crate::common::read_vectors("render.jsonl") else { return Vec::new() };
    vectors.iter().filter_map(|v| serde_json::from_value(v["conversation"].clone()).ok()).collect()
}

#[test]
fn render_batch_equals_one_by_one() {
    let enc = enc();
    let mut convos = vector_conversations();
    convos.push(Conversation::from_messages([Message::from_author_and_content(Author::from(Role::Tool), "x")]));
    for kind in [RenderKind::Conversation, RenderKind::Completion(Role::Assistant), RenderKind::Training] {
        let batch = enc.render_conversations_batch(&convos, kind, None);
        assert_eq!(batch.len(), convos.len());
        for (convo, got) in convos.iter().zip(&batch) {
            let want = match kind {
                RenderKind::Conversation => enc.render_conversation(convo, None),
                RenderKind::Completion(role) => enc.render_conversation_for_completion(convo, role, None),
                RenderKind::Training => enc.render_conversation_for_training(convo, None),
            };
            assert_eq!(got, &want);
        }
        assert!(batch.last().is_some_and(Result::is_err), "the nameless tool message fails alone");
    }
}

#[test]
fn parse_batch_equals_one_by_one() {
    let enc = enc();
    let Some(vectors) = crate::common::read_vectors("parse.jsonl") else { return };
    let completions: Vec<Vec<u32>> = vectors.iter().map(|v| tokens_of(&v["tokens"])).collect();
    for strict in [true, false] {
        let batch = enc.parse_batch(&completions, Some(Role::Assistant), strict);
        for (tokens, got) in completions.iter().zip(&batch) {
            let want = enc.parse_messages_from_completion_tokens(tokens.iter().copied(), Some(Role::Assistant), strict);
            assert_eq!(got, &want);
        }
    }
}

#[test]
fn cached_renders_equal_fresh_ones() {
    // Every render vector rendered twice (the second time from the cache)
    // gives the same tokens; tests/vectors.rs checks them against the reference.
    let enc = enc();
    let convos = vector_conversations();
    let first: Vec<_> = convos.iter().map(|c| enc.render_conversation(c, None)).collect();
    let second: Vec<_> = convos.iter().map(|c| enc.render_conversation(c, None)).collect();
    assert_eq!(first, second);
    // Messages that differ only in one field never share an entry.
    let a = Message::from_role_and_content(Role::Assistant, "same text").with_channel("analysis");
    let b = a.clone().with_channel("final");
    let c = a.clone().with_recipient("functions.f");
    let ra = enc.render(&a, None).expect("renders");
    let rb = enc.render(&b, None).expect("renders");
    let rc = enc.render(&c, None).expect("renders");
    assert!(ra != rb && ra != rc && rb != rc);
    assert_eq!(enc.render(&a, None).expect("renders"), ra);
}
