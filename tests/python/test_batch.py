"""Parallel batch rendering and parsing."""

from __future__ import annotations

import json

import pytest

from openai_harmony import (
    Author,
    Conversation,
    HarmonyEncoding,
    HarmonyError,
    Message,
    RenderConversationConfig,
    Role,
    SystemContent,
)


def conversations(n: int) -> list[Conversation]:
    out = []
    for i in range(n):
        out.append(
            Conversation.from_messages(
                [
                    Message.from_role_and_content(Role.SYSTEM, SystemContent.new()),
                    Message.from_role_and_content(Role.USER, f"Question {i}: " + "words " * (i % 50)),
                    Message.from_role_and_content(Role.ASSISTANT, f"Thinking {i}").with_channel("analysis"),
                    Message.from_role_and_content(Role.ASSISTANT, f"Answer {i}").with_channel("final"),
                ]
            )
        )
    return out


def test_render_batch_equals_one_by_one(enc: HarmonyEncoding) -> None:
    convos = conversations(64)
    assert enc.render_conversations_batch(convos) == [enc.render_conversation(c) for c in convos]
    assert enc.render_conversations_batch(convos, Role.ASSISTANT) == [
        enc.render_conversation_for_completion(c, Role.ASSISTANT) for c in convos
    ]
    keep = RenderConversationConfig(auto_drop_analysis=False)
    assert enc.render_conversations_batch(convos, config=keep, mode="training") == [
        enc.render_conversation_for_training(c, keep) for c in convos
    ]


def test_render_batch_takes_json_dicts_and_message_lists(enc: HarmonyEncoding) -> None:
    convos = conversations(8)
    expected = [enc.render_conversation(c) for c in convos]
    assert enc.render_conversations_batch([c.to_json() for c in convos]) == expected
    assert enc.render_conversations_batch([c.to_dict() for c in convos]) == expected
    assert enc.render_conversations_batch([list(c.messages) for c in convos]) == expected
    assert enc.render_conversations_batch([]) == []


def test_render_batch_names_the_bad_item(enc: HarmonyEncoding) -> None:
    convos: list[object] = list(conversations(5))
    convos[3] = Conversation.from_messages([Message.from_author_and_content(Author.new(Role.TOOL), "x")])
    with pytest.raises(HarmonyError, match="conversation 3: Tools should have a name"):
        enc.render_conversations_batch(convos)  # type: ignore[arg-type]
    with pytest.raises(HarmonyError, match="conversation 0: Invalid JSON"):
        enc.render_conversations_batch([json.dumps({"messages": [{"role": "robot"}]})])


def test_parse_batch(enc: HarmonyEncoding) -> None:
    completions = [
        enc.encode(
            f"<|channel|>analysis<|message|>t{i}<|end|><|start|>assistant<|channel|>final<|message|>a{i}<|return|>",
            allowed_special="all",
        )
        for i in range(50)
    ]
    batch = enc.parse_batch(completions, Role.ASSISTANT)
    assert batch == [enc.parse_messages_from_completion_tokens(c, Role.ASSISTANT) for c in completions]
    broken = [*completions[:3], [17]]
    with pytest.raises(HarmonyError, match="completion 3: "):
        enc.parse_batch(broken, Role.ASSISTANT)
    assert len(enc.parse_batch(broken, Role.ASSISTANT, strict=False)) == 4
