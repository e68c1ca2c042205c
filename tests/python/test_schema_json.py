"""Tool schemas that are not plain JSON (keys that are not strings, NaN):
rendered the reference's way (``_reference_road.py``). The expected texts
and error messages were taken from the reference, openai-harmony 0.0.8."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from openai_harmony import (
    Conversation,
    DeveloperContent,
    HarmonyEncoding,
    Message,
    Role,
    SystemContent,
    ToolDescription,
)


def developer(parameters: Dict[str, Any]) -> Message:
    tools = [ToolDescription.new("f", "d", parameters=parameters)]
    return Message.from_role_and_content(Role.DEVELOPER, DeveloperContent.new().with_function_tools(tools))


def tool_type(enc: HarmonyEncoding, message: Message) -> str:
    text = enc.decode(enc.render(message))
    return text[text.index("type f = (_: ") + len("type f = (_: ") : text.rindex(") => any;")]


def properties(key: Any) -> Dict[str, Any]:
    return {"type": "object", "properties": {key: {"type": "string"}}}


@pytest.mark.parametrize(
    ("key", "name"),
    [
        (1, "1"),
        (-5, "-5"),
        (True, "true"),
        (None, "null"),
        (1.5, "1.5"),
        (1e16, "1e+16"),
        (1e-7, "1e-07"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
    ],
)
def test_keys_are_written_as_json_dumps_writes_them(enc: HarmonyEncoding, key: Any, name: str) -> None:
    assert tool_type(enc, developer(properties(key))) == f"{{\n{name}?: string,\n}}"


@pytest.mark.parametrize(("key", "kind"), [((1, 2), "tuple"), (b"x", "bytes"), (frozenset(), "frozenset")])
def test_keys_json_dumps_refuses_raise_its_type_error(enc: HarmonyEncoding, key: Any, kind: str) -> None:
    with pytest.raises(TypeError, match=f"^keys must be str, int, float, bool or None, not {kind}$"):
        enc.render(developer(properties(key)))


def test_nan_default_is_the_references_parse_error(enc: HarmonyEncoding) -> None:
    message = developer({"type": "object", "properties": {"a": {"type": "number", "default": float("nan")}}})
    with pytest.raises(ValueError, match=r"^invalid message JSON: expected value at line 1 column 222$"):
        enc.render(message)
    convo = Conversation.from_messages([Message.from_role_and_content(Role.USER, "hi"), message])
    for render in (enc.render_conversation, enc.render_conversation_for_training):
        with pytest.raises(ValueError, match=r"^invalid conversation JSON: expected value at line 1 column 313$"):
            render(convo)
    with pytest.raises(ValueError, match=r"^invalid conversation JSON: expected value at line 1 column 313$"):
        enc.render_conversation_for_completion(convo, Role.ASSISTANT)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (float("inf"), "expected value at line 1 column 165"),
        (float("-inf"), "invalid number at line 1 column 166"),
    ],
)
def test_infinities_are_the_references_parse_errors(enc: HarmonyEncoding, value: float, error: str) -> None:
    with pytest.raises(ValueError, match=f"^invalid message JSON: {error}$"):
        enc.render(developer({"default": value}))


def conversation(parameters: Dict[str, Any]) -> Conversation:
    system = SystemContent.new().with_conversation_start_date("2025-01-01")
    return Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, system),
            developer(parameters),
            Message.from_role_and_content(Role.USER, "hi"),
            Message.from_role_and_content(Role.ASSISTANT, "ok").with_channel("final"),
        ]
    )


def test_every_render_agrees_with_the_string_keyed_schema(enc: HarmonyEncoding) -> None:
    odd = conversation({"type": "object", "properties": {None: {"type": "string", "default": 2**70}}})
    plain = conversation({"type": "object", "properties": {"null": {"type": "string", "default": 2**70}}})
    assert enc.render_conversation(odd) == enc.render_conversation(plain)
    assert enc.render_conversation_for_training(odd) == enc.render_conversation_for_training(plain)
    assert enc.render_conversation_for_completion(odd, Role.ASSISTANT) == enc.render_conversation_for_completion(
        plain, Role.ASSISTANT
    )
    assert [enc.render(m) for m in odd.messages] == [enc.render(m) for m in plain.messages]
    assert enc.render_conversation_for_training_with_mask(odd) == enc.render_conversation_for_training_with_mask(plain)
    assert enc.message_spans(odd) == enc.message_spans(plain)
    batch: List[Any] = [odd, list(odd.messages)]
    assert enc.render_conversations_batch(batch) == [enc.render_conversation(plain)] * 2
    # The caller's objects are left as they were.
    content = odd.messages[1].content[0]
    assert isinstance(content, DeveloperContent) and content.tools is not None
    params = content.tools["functions"].tools[0].parameters
    assert params is not None and list(params["properties"]) == [None]


def test_renders_beyond_the_reference_read_schemas_as_json_dumps_writes_them(enc: HarmonyEncoding) -> None:
    """Masks, spans, batches and interop: no retry, one walk in the core
    (``Schemas::AsJsonDumps``); a NaN is ``json.dumps``'s own ValueError and
    a schema nested too deeply says so."""
    nan = conversation({"type": "object", "properties": {"a": {"type": "number", "default": float("nan")}}})
    deep: Dict[str, Any] = {}
    inner = deep
    for _ in range(200):
        inner["a"] = {}
        inner = inner["a"]
    too_deep = conversation(deep)
    for convo, error in ((nan, "^Out of range float values are not JSON compliant"), (too_deep, "levels deep$")):
        with pytest.raises(ValueError, match=error):
            enc.message_spans(convo)
        with pytest.raises(ValueError, match=error):
            enc.render_conversation_for_training_with_mask(convo)
        with pytest.raises(ValueError, match=error):
            enc.render_conversations_batch([convo])
