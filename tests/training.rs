//! Training masks and message spans.

use crate::common::enc;
use openai_harmony::chat::{Author, Conversation, DeveloperContent, Message, Role, SystemContent, ToolDescription};
use openai_harmony::{HarmonyEncoding, Rank, RenderConversationConfig, RenderOptions, TrainOn};

fn tool_conversation() -> Conversation {
    let tools = vec![ToolDescription::new("get_weather", "Gets the weather.", None)];
    Conversation::from_messages([
        Message::from_role_and_content(Role::System, SystemContent::new().with_conversation_start_date("2026-01-01")),
        Message::from_role_and_content(Role::Developer, DeveloperContent::new().with_function_tools(tools)),
        Message::from_role_and_content(Role::User, "Weather in Oslo?"),
        Message::from_role_and_content(Role::Assistant, "Need the tool.").with_channel("analysis"),
        Message::from_role_and_content(Role::Assistant, r#"{"city":"Oslo"}"#)
            .with_channel("commentary")
            .with_recipient("functions.get_weather")
            .with_content_type("<|constrain|>json"),
        Message::from_author_and_content(Author::new(Role::Tool, "functions.get_weather"), "snow")
            .with_channel("commentary")
            .with_recipient("assistant"),
        Message::from_role_and_content(Role::Assistant, "It snows.").with_channel("final"),
    ])
}

/// The decoded runs of masked tokens.
fn masked_runs(enc: &HarmonyEncoding, tokens: &[Rank], mask: &[u8]) -> Vec<String> {
    assert_eq!(tokens.len(), mask.len());
    assert!(mask.iter().all(|&m| m <= 1));
    let mut runs = Vec::new();
    let mut current: Vec<Rank> = Vec::new();
    for (&t, &m) in tokens.iter().zip(mask) {
        if m == 1 {
            current.push(t);
        } else if !current.is_empty() {
            runs.push(enc.decode_utf8(&std::mem::take(&mut current)).expect("decodes"));
        }
    }
    if !current.is_empty() {
        runs.push(enc.decode_utf8(&current).expect("decodes"));
    }
    runs
}

const WITH_TOOLS: RenderOptions = RenderOptions { conversation_has_function_tools: true };

const KEEP: RenderConversationConfig = RenderConversationConfig { auto_drop_analysis: false };

#[test]
fn all_assistant_masks_what_the_model_samples() {
    let enc = enc();
    let convo = tool_conversation();
    let (tokens, mask) = enc
        .render_conversation_for_training_with_mask(&convo.messages, Some(&KEEP), TrainOn::AllAssistant)
        .expect("renders");
    assert_eq!(tokens, enc.render_conversation_for_training(&convo.messages, Some(&KEEP)).expect("renders"));
    assert_eq!(
        masked_runs(&enc, &tokens, &mask),
        [
            // The analysis and the call are one turn: the model samples the
            // <|start|>assistant between them.
            "<|channel|>analysis<|message|>Need the tool.<|end|>\
             <|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{\"city\":\"Oslo\"}<|call|>",
            "<|channel|>final<|message|>It snows.<|return|>",
        ]
    );
}

#[test]
fn last_assistant_turn_masks_only_the_last_turn() {
    let enc = enc();
    let convo = tool_conversation();
    let (tokens, mask) = enc
        .render_conversation_for_training_with_mask(&convo.messages, Some(&KEEP), TrainOn::LastAssistantTurn)
        .expect("renders");
    assert_eq!(masked_runs(&enc, &tokens, &mask), ["<|channel|>final<|message|>It snows.<|return|>"]);

    // Ending on a tool call: the last turn is the analysis and the call.
    let open_turn = &convo.messages[..5];
    let (tokens, mask) =
        enc.render_conversation_for_training_with_mask(open_turn, None, TrainOn::LastAssistantTurn).expect("renders");
    let runs = masked_runs(&enc, &tokens, &mask);
    assert_eq!(runs.len(), 1);
    assert!(runs[0].starts_with("<|channel|>analysis<|message|>Need the tool.<|end|><|start|>assistant to=functions"));
    assert!(runs[0].ends_with("<|call|>"));
}

#[test]
fn default_config_drops_closed_analysis_and_masks_the_rest() {
    let enc = enc();
    let convo = tool_conversation();
    let (tokens, mask) =
        enc.render_conversation_for_training_with_mask(&convo.messages, None, TrainOn::AllAssistant).expect("renders");
    let runs = masked_runs(&enc, &tokens, &mask);
    assert_eq!(runs.len(), 2);
    assert_eq!(
        runs[0],
        " to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{\"city\":\"Oslo\"}<|call|>"
    );
    assert_eq!(runs[1], "<|channel|>final<|message|>It snows.<|return|>");
}

#[test]
fn spans_cover_the_render_in_order() {
    let enc = enc();
    let convo = tool_conversation();
    let tokens = enc.render_conversation(&convo.messages, Some(&KEEP)).expect("renders");
    let spans = enc.message_spans(&convo.messages, Some(&KEEP)).expect("spans");
    assert_eq!(spans.len(), convo.messages.len());
    assert_eq!(spans[0].start, 0);
    assert_eq!(spans.last().map(|s| s.end), Some(tokens.len()));
    for (k, span) in spans.iter().enumerate() {
        assert_eq!(span.index, k);
        assert_eq!(span.role, convo.messages[k].author.role);
        assert_eq!(span.channel, convo.messages[k].channel);
        let alone = enc.render(&convo.messages[k], Some(&WITH_TOOLS)).expect("renders");
        assert_eq!(&tokens[span.start..span.end], alone.as_slice());
        if k > 0 {
            assert_eq!(spans[k - 1].end, span.start);
        }
        assert_eq!(tokens[span.start], 200006, "a span starts at <|start|>");
    }
    // Dropped messages have no span.
    let dropped = enc.message_spans(&convo.messages, None).expect("spans");
    assert_eq!(dropped.iter().map(|s| s.index).collect::<Vec<_>>(), [0, 1, 2, 4, 5, 6]);
}

#[test]
fn no_assistant_no_mask_and_bad_train_on() {
    let enc = enc();
    let convo = [Message::from_role_and_content(Role::User, "Hi")];
    let (tokens, mask) =
        enc.render_conversation_for_training_with_mask(&convo, None, TrainOn::LastAssistantTurn).expect("renders");
    assert_eq!(mask, vec![0; tokens.len()]);
    let err = "everything".parse::<TrainOn>().expect_err("rejected");
    assert!(err.to_string().contains("train_on must be"));
}

#[test]
fn dataset_rows_are_the_training_render() {
    use openai_harmony::dataset::{RowFormat, RowOptions};
    use openai_harmony::interop::{conversation_from_chat_completions, ConversionOptions};
    let enc = crate::common::enc();
    let convo = tool_conversation();
    let json = convo.to_json().expect("json");
    let messages = serde_json::to_string(&convo.messages).expect("json");
    let rows = [json.as_str(), "{oops", messages.as_str(), "  ", "[1]"];
    let options = RowOptions::default();
    let out = enc.tokenize_rows(&rows, &options);
    let (tokens, mask) =
        enc.render_conversation_for_training_with_mask(&convo, None, TrainOn::AllAssistant).expect("renders");
    assert_eq!(out.rows, [0, 2]);
    assert_eq!(out.offsets, [0, tokens.len(), 2 * tokens.len()]);
    assert_eq!(out.tokens[..tokens.len()], tokens[..]);
    assert_eq!(out.tokens[tokens.len()..], tokens[..]);
    assert_eq!(out.mask[..tokens.len()], mask[..]);
    let failed: Vec<usize> = out.errors.iter().map(|(i, _)| *i).collect();
    assert_eq!(failed, [1, 3, 4]);
    assert!(out.errors[1].1.to_string().contains("empty"), "{}", out.errors[1].1);

    // Lines: a final newline ends the last line and starts none.
    let data = format!("{json}\n\n{json}");
    let lines = enc.tokenize_lines(data.as_bytes(), &options);
    assert_eq!((lines.rows.clone(), lines.errors.len()), (vec![0, 2], 1));
    assert_eq!(enc.tokenize_lines(format!("{json}\n").as_bytes(), &options).rows, [0]);
    assert!(enc.tokenize_lines(b"", &options).rows.is_empty() && enc.tokenize_lines(b"", &options).errors.is_empty());

    // Chat rows go through the interop conversion.
    let request =
        serde_json::json!({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]});
    let conversion = ConversionOptions { conversation_start_date: Some("2026-01-01".into()) };
    let chat = RowOptions { format: RowFormat::Chat, conversion: conversion.clone(), ..RowOptions::default() };
    let text = request.to_string();
    let out = enc.tokenize_rows(&[text.as_str()], &chat);
    let convo = conversation_from_chat_completions(&request, &conversion).expect("converts");
    let (tokens, _) =
        enc.render_conversation_for_training_with_mask(&convo, None, TrainOn::AllAssistant).expect("renders");
    assert_eq!(out.tokens, tokens);
    assert!("xml".parse::<RowFormat>().is_err());
}
