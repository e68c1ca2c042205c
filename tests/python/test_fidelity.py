"""Python API semantics that match the reference (issue: drop-in fidelity)."""

from __future__ import annotations

import concurrent.futures
import pickle

import pytest

from openai_harmony import (
    Conversation,
    DeveloperContent,
    HarmonyEncoding,
    HarmonyError,
    Message,
    Role,
    SystemContent,
    ToolDescription,
)


def _raise(message: str) -> None:
    raise HarmonyError(message)


def test_harmony_error_pickles_as_itself() -> None:
    assert HarmonyError.__module__ == "openai_harmony"
    err = pickle.loads(pickle.dumps(HarmonyError("boom")))
    assert type(err) is HarmonyError and str(err) == "boom"
    with concurrent.futures.ProcessPoolExecutor(max_workers=1) as pool:
        with pytest.raises(HarmonyError, match="from a worker"):
            pool.submit(_raise, "from a worker").result()


def test_plain_str_content_fails_as_in_the_reference(enc: HarmonyEncoding) -> None:
    message = Message.from_role_and_content(Role.USER, "hi")
    message.content = "hello"  # type: ignore[assignment]
    with pytest.raises(AttributeError, match="'str' object has no attribute 'to_dict'"):
        enc.render(message)
    with pytest.raises(AttributeError, match="'str' object has no attribute 'to_dict'"):
        enc.render_conversation(Conversation.from_messages([message]))


def test_surrogates(enc: HarmonyEncoding) -> None:
    pair = Message.from_role_and_content(Role.USER, "\ud83d\ude00")
    assert enc.render(pair) == enc.render(Message.from_role_and_content(Role.USER, "😀"))
    with pytest.raises(ValueError, match="lone surrogate U\\+D800 at position 1"):
        enc.render(Message.from_role_and_content(Role.USER, "a\ud800b"))


def test_mode_strings_are_checked(enc: HarmonyEncoding) -> None:
    convo = Conversation.from_messages([Message.from_role_and_content(Role.USER, "hi")])
    with pytest.raises(ValueError, match='mode must be "conversation", "completion" or "training", got "bogus"'):
        enc.render_conversations_batch([convo], mode="bogus")  # type: ignore[arg-type]
    from openai_harmony import _native

    with pytest.raises(ValueError, match='api must be "chat" or "responses", got "bogus"'):
        _native.prompt_for(enc._inner, "bogus", "{}")


def test_invalid_content_fails_at_render_as_in_the_reference(enc: HarmonyEncoding) -> None:
    # with_reasoning_effort refuses it at once (deviation 6); assigned
    # directly, it fails at render as in the reference.
    with pytest.raises(ValueError, match="reasoning effort must be Low, Medium or High"):
        SystemContent.new().with_reasoning_effort("medium")  # type: ignore[arg-type]
    system = SystemContent.new()
    system.reasoning_effort = "medium"  # type: ignore[assignment]
    convo = Conversation.from_messages([Message.from_role_and_content(Role.SYSTEM, system)])
    with (
        pytest.warns(UserWarning),
        pytest.raises(ValueError, match="invalid conversation JSON: unknown variant `medium`"),
    ):
        enc.render_conversation(convo)
    tool = ToolDescription.new("f", "d", parameters={"type": "object", "default": float("nan")})
    dev = Message.from_role_and_content(Role.DEVELOPER, DeveloperContent.new().with_function_tools([tool]))
    with pytest.raises(ValueError, match="invalid message JSON: expected value"):
        enc.render(dev)
