//! Shared by the parser fuzz targets: turn fuzz bytes into a completion
//! that looks enough like model output to reach every parser state, run it
//! through the streaming and the batch parser, and check the invariants.

use openai_harmony::chat::Role;
use openai_harmony::{load_harmony_encoding, HarmonyEncoding, HarmonyEncodingName, ParseEvent, Rank, StreamableParser};
use std::sync::OnceLock;

fn enc() -> &'static HarmonyEncoding {
    static ENC: OnceLock<HarmonyEncoding> = OnceLock::new();
    ENC.get_or_init(|| load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss).expect("encoding loads"))
}

/// Header and content words models write, as token sequences.
fn words() -> &'static Vec<Vec<Rank>> {
    static WORDS: OnceLock<Vec<Vec<Rank>>> = OnceLock::new();
    WORDS.get_or_init(|| {
        [
            "assistant",
            "user",
            "system",
            "developer",
            "tool",
            "analysis",
            "commentary",
            "final",
            " to=",
            "to=",
            "functions.get_weather",
            "functions",
            ".",
            " ",
            "json",
            " code",
            "python",
            "browser.search",
            "assistantassistant",
            "\n",
            "\n\n",
            "{\"a\": 1}",
            "Hello",
            "🚀",
            "東京",
            "<|constrain|>",
            "<|channel|>",
            "<|start|>",
            "é",
            "––",
            "Web",
            " Search",
            "__X__",
            "write:",
            "<|channel>",
            "finalThe",
            "functions.shelljson",
            "ask_user",
            "I must refuse.",
        ]
        .iter()
        .map(|w| enc().encode_with_special_tokens(w))
        .collect()
    })
}

const SPECIALS: [Rank; 9] = [200006, 200008, 200007, 200002, 200012, 200005, 200003, 199999, 200018];

/// Decodes fuzz bytes into a role and a token sequence.
pub fn tokens_from(data: &[u8]) -> (Option<Role>, Vec<Rank>) {
    let role = match data.first().copied().unwrap_or(0) % 4 {
        0 => None,
        1 => Some(Role::User),
        _ => Some(Role::Assistant),
    };
    let mut tokens = Vec::new();
    let mut i = 1;
    while i < data.len() {
        let b = data[i];
        i += 1;
        match b >> 5 {
            0 | 1 | 2 => tokens.push(SPECIALS[usize::from(b) % SPECIALS.len()]),
            3 | 4 | 5 => tokens.extend_from_slice(&words()[usize::from(b) % words().len()]),
            6 => {
                // Any rank, including ids outside the vocabulary.
                let hi = data.get(i).copied().unwrap_or(0);
                let lo = data.get(i + 1).copied().unwrap_or(0);
                i += 2;
                tokens.push((u32::from(b & 0x1f) << 16 | u32::from(hi) << 8 | u32::from(lo)) % 202_000);
            }
            _ => {
                // A single byte token (splits multi-byte characters).
                tokens.push(u32::from(b & 0x1f) + 128);
            }
        }
    }
    (role, tokens)
}

/// Runs one completion in one mode and checks the parser's invariants.
pub fn check(data: &[u8], strict: bool) {
    let (role, tokens) = tokens_from(data);
    // Lenient: the server repairs and declared tools on for some inputs.
    let server = !strict && data.first().is_some_and(|b| b & 0x80 != 0);
    let tools: &[&str] = if server { &["functions.web_search", "functions.bash"] } else { &[] };
    let make = || StreamableParser::new(enc().clone(), role).strict(strict).server_repairs(server).with_tools(tools.iter().copied());
    let mut parser = make();
    let mut failed = false;
    let mut contents: Vec<String> = Vec::new();
    for &t in &tokens {
        let before = (parser.tokens().len(), parser.messages().len(), parser.state(), parser.current_content().len());
        match parser.process(t) {
            Ok(_) => {}
            Err(_) => {
                assert!(strict, "lenient parser raised on token {t}");
                // As the reference: the token is recorded, no message is lost or
                // added, and the parser waits for the next <|start|>.
                let after =
                    (parser.tokens().len(), parser.messages().len(), parser.state(), parser.current_content().len());
                assert_eq!(after.0, before.0 + 1, "a failed token is recorded");
                assert_eq!(after.1, before.1, "a failed token completes no message");
                assert_eq!(after.2, openai_harmony::StreamState::ExpectStart, "after an error the parser waits for <|start|>");
                failed = true;
                break;
            }
        }
        for event in parser.drain_events() {
            match event {
                ParseEvent::MessageStarted { index, .. } => {
                    assert_eq!(index, contents.len(), "message indices are consecutive");
                    contents.push(String::new());
                }
                ParseEvent::ContentDelta { index, text } => contents[index].push_str(&text),
                ParseEvent::MessageCompleted { index, message } => {
                    assert_eq!(parser.messages().get(index), Some(&message));
                }
            }
        }
    }
    let eos = parser.process_eos().map(|_| ());
    assert!(strict || eos.is_ok(), "lenient parser raised at the end of the stream");
    if eos.is_ok() {
        for event in parser.drain_events() {
            if let ParseEvent::MessageStarted { .. } = event {
                contents.push(String::new());
            } else if let ParseEvent::ContentDelta { index, text } = event {
                contents[index].push_str(&text);
            }
        }
        // The deltas add up to the messages.
        for (message, text) in parser.messages().iter().zip(&contents) {
            let openai_harmony::chat::Content::Text(t) = &message.content[0] else { panic!("parsed content is text") };
            assert_eq!(&t.text, text, "deltas add up to the content");
        }
    }
    // The batch parser agrees with the stream.
    let batch = make().parse_all(tokens.iter().copied()).map(|p| p.messages);
    match (&batch, failed || eos.is_err()) {
        (Ok(messages), false) => assert_eq!(messages.as_slice(), parser.messages()),
        (Err(_), true) => {}
        (b, f) => panic!("batch {:?} but stream failed={f}", b.as_ref().map(Vec::len)),
    }
    // reset() gives a parser that behaves like a new one.
    parser.reset();
    assert!(parser.messages().is_empty() && parser.tokens().is_empty() && parser.diagnostics().is_empty());
}
