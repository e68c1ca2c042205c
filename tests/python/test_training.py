"""Training masks and message spans from Python."""

from __future__ import annotations

from typing import List

import pytest

from openai_harmony import (
    Author,
    Conversation,
    DeveloperContent,
    HarmonyEncoding,
    Message,
    RenderConversationConfig,
    Role,
    SystemContent,
    ToolDescription,
)

KEEP = RenderConversationConfig(auto_drop_analysis=False)


def tool_conversation() -> Conversation:
    return Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, SystemContent.new().with_conversation_start_date("2026-01-01")),
            Message.from_role_and_content(
                Role.DEVELOPER,
                DeveloperContent.new().with_function_tools([ToolDescription.new("get_weather", "Gets the weather.")]),
            ),
            Message.from_role_and_content(Role.USER, "Weather in Oslo?"),
            Message.from_role_and_content(Role.ASSISTANT, "Need the tool.").with_channel("analysis"),
            Message.from_role_and_content(Role.ASSISTANT, '{"city":"Oslo"}')
            .with_channel("commentary")
            .with_recipient("functions.get_weather")
            .with_content_type("<|constrain|>json"),
            Message.from_author_and_content(Author.new(Role.TOOL, "functions.get_weather"), "snow")
            .with_channel("commentary")
            .with_recipient("assistant"),
            Message.from_role_and_content(Role.ASSISTANT, "It snows.").with_channel("final"),
        ]
    )


def runs(enc: HarmonyEncoding, tokens: List[int], mask: List[int]) -> List[str]:
    out: List[str] = []
    current: List[int] = []
    for token, bit in [*zip(tokens, mask), (0, 0)]:
        if bit:
            current.append(token)
        elif current:
            out.append(enc.decode_utf8(current))
            current = []
    return out


def test_mask_all_assistant(enc: HarmonyEncoding) -> None:
    convo = tool_conversation()
    tokens, mask = enc.render_conversation_for_training_with_mask(convo, KEEP)
    assert tokens == enc.render_conversation_for_training(convo, KEEP)
    assert set(mask) == {0, 1} and len(mask) == len(tokens)
    assert runs(enc, tokens, mask) == [
        "<|channel|>analysis<|message|>Need the tool.<|end|>"
        "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json"
        '<|message|>{"city":"Oslo"}<|call|>',
        "<|channel|>final<|message|>It snows.<|return|>",
    ]


def test_mask_last_turn(enc: HarmonyEncoding) -> None:
    tokens, mask = enc.render_conversation_for_training_with_mask(
        tool_conversation(), KEEP, train_on="last_assistant_turn"
    )
    assert runs(enc, tokens, mask) == ["<|channel|>final<|message|>It snows.<|return|>"]
    with pytest.raises(ValueError, match="train_on must be"):
        enc.render_conversation_for_training_with_mask(tool_conversation(), train_on="everything")  # type: ignore[arg-type]


def test_message_spans(enc: HarmonyEncoding) -> None:
    convo = tool_conversation()
    tokens = enc.render_conversation(convo, KEEP)
    spans = enc.message_spans(convo, KEEP)
    assert [(s.index, s.role, s.channel) for s in spans] == [
        (i, m.author.role, m.channel) for i, m in enumerate(convo.messages)
    ]
    assert spans[0].start == 0 and spans[-1].end == len(tokens)
    assert all(a.end == b.start for a, b in zip(spans, spans[1:]))
    assert (
        enc.decode_utf8(tokens[spans[-1].start : spans[-1].end])
        == "<|start|>assistant<|channel|>final<|message|>It snows.<|end|>"
    )
    assert [s.index for s in enc.message_spans(convo)] == [0, 1, 2, 4, 5, 6]
