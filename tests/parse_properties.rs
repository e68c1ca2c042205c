//! Property tests for the parser: rendering any sequence of assistant and
//! tool messages and parsing the tokens back gives the same messages, in
//! strict and lenient mode, in one go and token by token, with and without
//! the role given; and arbitrary token sequences never make the lenient
//! parser fail.

use openai_harmony::chat::{Author, Message, Role};
use openai_harmony::{HarmonyEncoding, Rank, StreamableParser};
use proptest::prelude::*;

use crate::common::enc;

/// Content: any text, with a bias towards text that looks like markup.
fn content() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        "[ -~\n]{0,40}",
        Just("<|end|> is text here".to_string()),
        Just("{\"a\": [1, 2]}".to_string()),
        Just("東京 🚀 é\n".to_string()),
        Just(String::new()),
    ]
}

/// A header word: no whitespace and no `<`, as the grammar requires.
fn word() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z][a-z0-9_]{0,8}(\\.[a-z_]{1,8})?", Just("functions.get_weather".to_string())]
}

fn channel() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(Some("analysis".to_string())),
        Just(Some("commentary".to_string())),
        Just(Some("final".to_string())),
        word().prop_map(Some),
        Just(None),
    ]
}

/// Assistant messages as gpt-oss writes them. A content type without a
/// recipient must be constrained: the grammar reads a lone bare word after
/// the channel as the recipient. (Strict mode reads a lone constrained type
/// as the recipient too, except on `final`; see `strict_view`.)
fn assistant() -> impl Strategy<Value = Message> {
    (
        channel(),
        prop::option::of(word()),
        prop::option::of(prop_oneof![Just("<|constrain|>json".to_string()), word()]),
        content(),
    )
        .prop_map(|(channel, recipient, content_type, text)| {
            let content_type = match (&recipient, content_type) {
                // `<|constrain|>functions.x` alone is a call written wrong
                // (lenient mode reads it as the recipient): not a content type.
                (None, Some(ct)) if ct.starts_with("functions.") => None,
                (None, Some(ct)) if !ct.starts_with("<|constrain|>") => Some(format!("<|constrain|>{ct}")),
                (_, ct) => ct,
            };
            let recipient = recipient.map(|r| if r == "assistant" { "functions.assistant".into() } else { r });
            Message {
                author: Author::from(Role::Assistant),
                recipient,
                content: vec![text.into()],
                channel,
                content_type,
            }
        })
}

/// Tool results: named after the tool, addressed to the assistant.
fn tool() -> impl Strategy<Value = Message> {
    (word(), prop::option::of(Just("commentary".to_string())), content()).prop_map(|(name, channel, text)| {
        let name = if name.parse::<Role>().is_ok() { format!("functions.{name}") } else { name };
        Message {
            author: Author::new(Role::Tool, name),
            recipient: Some("assistant".into()),
            content: vec![text.into()],
            channel,
            content_type: None,
        }
    })
}

fn messages() -> impl Strategy<Value = Vec<Message>> {
    prop::collection::vec(prop_oneof![3 => assistant(), 1 => tool()], 1..6)
}

/// What strict mode reads back: like the reference, a lone constrained
/// content type on a channel other than `final` is read as the recipient
/// (`test-data/deviations.md`). Lenient mode reads every message back as is.
fn strict_view(messages: &[Message]) -> Vec<Message> {
    messages
        .iter()
        .map(|m| {
            let mut m = m.clone();
            if m.recipient.is_none() && m.channel.as_deref() != Some("final") && m.content_type.is_some() {
                m.recipient = m.content_type.take();
            }
            m
        })
        .collect()
}

fn render_all(enc: &HarmonyEncoding, messages: &[Message]) -> Vec<Rank> {
    let mut tokens = Vec::new();
    for m in messages {
        tokens.extend(enc.render(m, None).expect("renders"));
    }
    tokens
}

fn stream(enc: &HarmonyEncoding, tokens: &[Rank], role: Option<Role>, strict: bool) -> Vec<Message> {
    let mut p = StreamableParser::new(enc.clone(), role).strict(strict);
    for &t in tokens {
        p.process(t).expect("parses");
    }
    p.process_eos().expect("ends");
    p.into_messages()
}

/// `PROPTEST_CASES` overrides the number of cases (for long local runs).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), ..ProptestConfig::default() })]

    #[test]
    fn render_then_parse_gives_the_messages_back(messages in messages()) {
        let enc = enc();
        let tokens = render_all(&enc, &messages);
        for strict in [true, false] {
            let want = if strict { strict_view(&messages) } else { messages.clone() };
            let parsed = enc.parse_completion(tokens.iter().copied(), None, strict).expect("parses");
            prop_assert_eq!(&parsed.messages, &want);
            // Well-formed input needs no repair (beyond the constrained-type reading).
            if strict_view(&messages) == messages {
                prop_assert!(parsed.diagnostics.is_empty(), "repairs on clean input: {:?}", parsed.diagnostics);
            }
            prop_assert_eq!(&stream(&enc, &tokens, None, strict), &want);
        }
        // As a completion: the prompt ended with `<|start|>assistant`.
        if messages[0].author.role == Role::Assistant {
            let completion = &tokens[2..];
            prop_assert_eq!(&stream(&enc, completion, Some(Role::Assistant), true), &strict_view(&messages));
            // Lenient mode ends a completion's turn at its first `<|call|>`
            // (a call: an assistant message with a recipient); what follows
            // is ignored (test-data/deviations.md, deviation 3).
            let call = |m: &Message| m.author.role == Role::Assistant && m.recipient.is_some();
            let turn = messages.iter().position(call).map_or(messages.len(), |i| i + 1);
            prop_assert_eq!(&stream(&enc, completion, Some(Role::Assistant), false), &messages[..turn]);
        }
    }

    #[test]
    fn lenient_parsing_never_fails(tokens in prop::collection::vec(prop_oneof![
        3 => prop::sample::select(vec![200006u32, 200008, 200007, 200002, 200012, 200005, 200003, 199999]),
        3 => 0u32..1000,
        1 => 0u32..202_000,
    ], 0..60), role in prop::option::of(Just(Role::Assistant))) {
        let enc = enc();
        let parsed = enc.parse_completion(tokens.iter().copied(), role, false);
        prop_assert!(parsed.is_ok());
    }
}

/// Pieces of the malformed headers real models write, to build them from.
const PIECES: [&str; 30] = [
    "<|start|>",
    "<|channel|>",
    "<|message|>",
    "<|constrain|>",
    "<|end|>",
    "<|call|>",
    "<|return|>",
    "assistant",
    "final",
    "analysis",
    "commentary",
    "to=",
    "functions.",
    "Web",
    " Search",
    "json",
    "code",
    " ",
    "\n",
    "––",
    "é",
    "{\"a\": 1}",
    "The answer",
    "?",
    "2",
    "bash",
    "__X__",
    "write:",
    "<|channel>",
    "東京",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(500), ..ProptestConfig::default() })]

    /// Lenient parsing of header-like text never fails, with or without the
    /// server repairs and declared tools, in one go or token by token (the
    /// same messages either way).
    #[test]
    fn lenient_parsing_of_header_pieces_never_fails(
        pieces in prop::collection::vec(0..PIECES.len(), 0..40),
        role in prop::option::of(Just(Role::Assistant)),
        server in any::<bool>(),
        tools in any::<bool>(),
    ) {
        let enc = enc();
        let text: String = pieces.iter().map(|&i| PIECES[i]).collect();
        let tokens = enc.encode_with_special_tokens(&text);
        let declared: Vec<&str> = if tools { vec!["functions.web_search", "functions.bash"] } else { vec![] };
        let make = || StreamableParser::new(enc.clone(), role).strict(false).server_repairs(server).with_tools(declared.clone());
        let batch = make().parse_all(tokens.iter().copied());
        prop_assert!(batch.is_ok());
        let mut p = make();
        for &t in &tokens {
            prop_assert!(p.process(t).is_ok());
            let _ = (p.last_content_delta(), p.current_channel(), p.current_recipient(), p.state_data());
        }
        prop_assert!(p.process_eos().is_ok());
        prop_assert_eq!(p.messages(), &batch.expect("ok").messages[..]);
    }
}
