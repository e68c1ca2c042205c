"""Errors are data: every error the core raises carries a stable ``kind``,
the request field it is about (``param``), the batch item it came from
(``index``) and, for one that wraps a parser's text, that ``detail``;
the messages stay the reference's, byte for byte."""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

import pytest

from openai_harmony import (
    Conversation,
    HarmonyEncoding,
    HarmonyError,
    Message,
    Role,
    StreamableParser,
    interop,
)


def raised(call: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as info:
        call()
    return info.value


def test_kinds_and_locations(enc: HarmonyEncoding) -> None:
    cases: List[Tuple[Callable[[], Any], str, Optional[str], str]] = [
        (lambda: enc.decode_utf8([10**6]), "invalid_token", None, "Invalid token for decoding: 1000000"),
        (lambda: enc.encode("<|start|>"), "disallowed_special_token", None, "disallowed special token '<|start|>'"),
        (
            lambda: interop.prompt_for_chat_completions(enc, {"messages": []}),
            "invalid_request",
            "messages",
            "messages must hold at least one message",
        ),
        (
            lambda: interop.prompt_for_chat_completions(enc, {"messages": [{"role": "user", "content": 5}]}),
            "invalid_request",
            "messages[0].content",
            "messages[0].content must be a string",
        ),
        (
            lambda: interop.prompt_for_responses(enc, {"input": "x", "tool_choice": {"type": "zz"}}),
            "invalid_request",
            "tool_choice.type",
            "unsupported tool choice",
        ),
        (lambda: interop.prompt_for_chat_completions(enc, []), "invalid_request", None, "must be a JSON object"),  # type: ignore[arg-type]
        (
            lambda: enc.parse_messages_from_completion_tokens(enc.encode("hi"), None, strict=True),
            "unexpected_token",
            None,
            "Unexpected token",
        ),
    ]
    for call, kind, param, text in cases:
        error = raised(call)
        assert isinstance(error, HarmonyError), (kind, error)
        assert (error.kind, error.param, error.index) == (kind, param, None), (kind, error)
        assert text in str(error)


def test_strict_stream_errors_carry_their_kind(enc: HarmonyEncoding) -> None:
    parser = StreamableParser(enc, Role.ASSISTANT, strict=True)
    for token in enc.encode("<|channel|>final", allowed_special="all"):
        parser.process(token)
    error = raised(parser.process_eos)
    assert isinstance(error, HarmonyError) and error.kind == "unexpected_eos_in_header"


def test_batch_errors_say_their_item(enc: HarmonyEncoding) -> None:
    good = Conversation.from_messages([Message.from_role_and_content(Role.USER, "hi")])
    nameless = Conversation.from_messages([Message.from_role_and_content(Role.TOOL, "x")])
    error = raised(lambda: enc.render_conversations_batch([good, good, nameless]))
    assert isinstance(error, HarmonyError)
    assert (error.kind, error.index, str(error)) == (
        "tool_without_name",
        2,
        "conversation 2: Tools should have a name!",
    )
    fine = enc.encode("<|channel|>final<|message|>x<|return|>", allowed_special="all")
    bad = enc.encode("<|channel|>final", allowed_special="all")
    error = raised(lambda: enc.parse_batch([fine, bad], Role.ASSISTANT))
    assert isinstance(error, HarmonyError) and error.index == 1 and str(error).startswith("completion 1: ")


def test_value_errors_carry_their_kind_too(enc: HarmonyEncoding) -> None:
    error = raised(lambda: enc.completion_grammar([], syntax="regex"))
    assert isinstance(error, ValueError) and getattr(error, "kind", None) == "invalid_argument"
