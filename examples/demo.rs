//! `make demo`: renders an embedded example conversation (system, developer
//! with a function tool, user, an assistant tool call and the tool's answer)
//! for completion, then prints the prompt text and its token ids; then
//! parses an embedded sample completion token by token, printing the stream
//! events and the messages, and a malformed one in lenient mode with the
//! repairs it made.

use std::time::Instant;

use openai_harmony::chat::{
    Author, Conversation, DeveloperContent, Message, ReasoningEffort, Role, SystemContent, ToolDescription,
};
use openai_harmony::{load_harmony_encoding, HarmonyEncoding, HarmonyEncodingName, ParseEvent, StreamableParser};
use serde_json::json;

fn example() -> Conversation {
    let get_weather = ToolDescription::new(
        "get_current_weather",
        "Gets the current weather in the provided location.",
        Some(json!({
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "format": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}
            },
            "required": ["location"]
        })),
    );
    Conversation::from_messages([
        Message::from_role_and_content(
            Role::System,
            SystemContent::new().with_reasoning_effort(ReasoningEffort::Low).with_conversation_start_date("2025-06-28"),
        ),
        Message::from_role_and_content(
            Role::Developer,
            DeveloperContent::new().with_instructions("Answer in one sentence.").with_function_tools(vec![get_weather]),
        ),
        Message::from_role_and_content(Role::User, "What is the weather in Tokyo?"),
        Message::from_role_and_content(Role::Assistant, "Need the weather tool.").with_channel("analysis"),
        Message::from_role_and_content(Role::Assistant, r#"{"location": "Tokyo, JP"}"#)
            .with_channel("commentary")
            .with_recipient("functions.get_current_weather")
            .with_content_type("<|constrain|>json"),
        Message::from_author_and_content(
            Author::new(Role::Tool, "functions.get_current_weather"),
            r#"{"temperature": 20, "sunny": true}"#,
        )
        .with_channel("commentary")
        .with_recipient("assistant"),
    ])
}

fn main() -> Result<(), openai_harmony::HarmonyError> {
    let started = Instant::now();
    let enc = load_harmony_encoding(HarmonyEncodingName::HarmonyGptOss)?;
    let loaded = started.elapsed();

    let tokens = enc.render_conversation_for_completion(&example(), Role::Assistant, None)?;
    println!("== prompt text ==\n{}\n", enc.decode_utf8(&tokens)?);
    println!("== {} token ids ==\n{:?}\n", tokens.len(), tokens);
    println!("(encoding loaded in {:.1} ms, offline, from the embedded vocabulary)\n", loaded.as_secs_f64() * 1e3);

    parse_sample(&enc)?;
    parse_malformed(&enc)
}

/// What the model might sample after the prompt above.
const SAMPLE: &str = "<|channel|>analysis<|message|>The tool says 20 degrees and sunny.<|end|>\
                      <|start|>assistant<|channel|>final<|message|>It is sunny in Tokyo, 20 °C.<|return|>";

fn parse_sample(enc: &HarmonyEncoding) -> Result<(), openai_harmony::HarmonyError> {
    println!("== streaming parse of a sample completion ==");
    let mut parser = StreamableParser::new(enc.clone(), Some(Role::Assistant));
    for token in enc.encode_with_special_tokens(SAMPLE) {
        parser.process(token)?;
        for event in parser.drain_events() {
            match event {
                ParseEvent::MessageStarted { index, channel, .. } => {
                    print!("\n[message {index} on {}] ", channel.as_deref().unwrap_or("-"))
                }
                ParseEvent::ContentDelta { text, .. } => print!("{text}"),
                ParseEvent::MessageCompleted { .. } => print!(" [done]"),
            }
        }
    }
    parser.process_eos()?;
    println!("\n\n== parsed messages ==");
    for message in parser.messages() {
        println!("{}", serde_json::to_string(message).unwrap_or_default());
    }
    Ok(())
}

/// Output gpt-oss sometimes produces: no `<|start|>assistant` before the
/// second message, and a final answer whose header never got `<|message|>`.
const MALFORMED: &str = "<|channel|>analysis<|message|>Answer in JSON.<|end|>\
                         <|channel|>final {\"temperature\": 20}<|return|>";

fn parse_malformed(enc: &HarmonyEncoding) -> Result<(), openai_harmony::HarmonyError> {
    let tokens = enc.encode_with_special_tokens(MALFORMED);
    println!("\n== a malformed completion ==\n{MALFORMED}");
    if let Err(e) = enc.parse_messages_from_completion_tokens(tokens.iter().copied(), Some(Role::Assistant), true) {
        println!("strict:  error: {e}");
    }
    let parsed = enc.parse_completion(tokens, Some(Role::Assistant), false)?;
    println!("lenient: {} messages", parsed.messages.len());
    for message in &parsed.messages {
        println!("  {}", serde_json::to_string(message).unwrap_or_default());
    }
    for diagnostic in &parsed.diagnostics {
        println!("  repaired at {diagnostic}");
    }
    Ok(())
}
