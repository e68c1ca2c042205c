//! `make demo`: renders an embedded example conversation (system, developer
//! with a function tool, user, an assistant tool call and the tool's answer)
//! for completion, then prints the prompt text and its token ids.

use std::time::Instant;

use openai_harmony::chat::{
    Author, Conversation, DeveloperContent, Message, ReasoningEffort, Role, SystemContent, ToolDescription,
};
use openai_harmony::{load_harmony_encoding, HarmonyEncodingName};
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
    println!("(encoding loaded in {:.1} ms, offline, from the embedded vocabulary)", loaded.as_secs_f64() * 1e3);
    Ok(())
}
