"""The pydantic models: constructors, builders, enums, serialization."""

from __future__ import annotations

import json
from typing import Any, List

import pytest
from pydantic import BaseModel

from openai_harmony import (
    Author,
    ChannelConfig,
    Conversation,
    DeveloperContent,
    Message,
    ReasoningEffort,
    RenderConversationConfig,
    RenderOptions,
    ResponseFormat,
    Role,
    SystemContent,
    TextContent,
    ToolDescription,
    ToolNamespaceConfig,
    _native,
)


def tool_call() -> Message:
    return (
        Message.from_role_and_content(Role.ASSISTANT, '{"location": "Tokyo"}')
        .with_channel("commentary")
        .with_recipient("functions.get_weather")
        .with_content_type("<|constrain|>json")
    )


def test_roles_are_str_enums() -> None:
    assert Role("user") is Role.USER
    assert Role.ASSISTANT == "assistant"
    msg = Message.from_role_and_content(Role.ASSISTANT, "hi")
    assert msg.author.role == "assistant"
    with pytest.raises(ValueError, match="Unknown role"):
        Role("robot")


def test_reasoning_effort() -> None:
    assert ReasoningEffort("High") is ReasoningEffort.HIGH
    assert ReasoningEffort.MEDIUM == "Medium"
    # As the reference: only the enum's values.
    with pytest.raises(ValueError):
        ReasoningEffort("low")


def test_author_new() -> None:
    assert Author.new(Role.TOOL, "functions.x") == Author(role=Role.TOOL, name="functions.x")
    assert Author.new(Role.USER).name is None


def test_message_constructors_and_builders() -> None:
    msg = Message.from_role_and_content(Role.USER, "hello")
    assert msg.content == [TextContent(text="hello")]
    msg = Message.from_role_and_contents(Role.USER, ["a", TextContent(text="b")])
    assert [c.text for c in msg.content if isinstance(c, TextContent)] == ["a", "b"]
    assert msg.adding_content("c") is msg and len(msg.content) == 3
    sys_msg = Message.from_role_and_content(Role.SYSTEM, SystemContent.new())
    assert isinstance(sys_msg.content[0], SystemContent)
    dev_msg = Message.from_author_and_content(Author.new(Role.DEVELOPER), DeveloperContent.new())
    assert isinstance(dev_msg.content[0], DeveloperContent)
    call = tool_call()
    assert (call.channel, call.recipient, call.content_type) == (
        "commentary",
        "functions.get_weather",
        "<|constrain|>json",
    )


def test_direct_construction_and_mutation() -> None:
    msg = Message(
        author=Author(role=Role.TOOL, name="functions.f"), content=[TextContent(text="42")], channel="commentary"
    )
    msg.recipient = "assistant"
    assert msg.to_dict() == {
        "role": "tool",
        "name": "functions.f",
        "content": [{"type": "text", "text": "42"}],
        "channel": "commentary",
        "recipient": "assistant",
    }
    # Plain strings are accepted as content too.
    assert Message(author=Author(role=Role.USER), content=["hi"]).content == [TextContent(text="hi")]


def test_message_dict_and_json_round_trip() -> None:
    for msg in [
        tool_call(),
        Message.from_role_and_content(Role.SYSTEM, SystemContent.new().with_browser_tool()),
        Message.from_role_and_content(
            Role.DEVELOPER,
            DeveloperContent.new()
            .with_instructions("Be brief.")
            .with_function_tools([ToolDescription.new("f", "does f", {"type": "object"})])
            .with_response_format(ResponseFormat.new("answer", {"type": "object"}, "The answer.")),
        ),
    ]:
        assert Message.from_dict(msg.to_dict()) == msg
        assert Message.from_dict(json.loads(msg.to_json())) == msg


def test_model_dump_is_lossless() -> None:
    # The reference's model_dump drops the text of TextContent.
    convo = Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, SystemContent.new().with_conversation_start_date("2025-01-01")),
            Message.from_role_and_content(Role.USER, "What is 2 + 2?"),
            tool_call(),
        ]
    )
    dumped = convo.model_dump()
    assert dumped["messages"][1]["content"][0]["text"] == "What is 2 + 2?"
    assert Conversation.model_validate(dumped) == convo
    assert Conversation.model_validate_json(convo.model_dump_json()) == convo
    assert Message.model_validate_json(tool_call().model_dump_json()) == tool_call()


def test_models_as_field_types() -> None:
    class Sample(BaseModel):
        conversation: Conversation
        extra: List[Message] = []

    sample = Sample(conversation=Conversation.from_messages([tool_call()]), extra=[tool_call()])
    assert Sample.model_validate_json(sample.model_dump_json()) == sample


def test_conversation() -> None:
    msgs = [Message.from_role_and_content(Role.USER, "a"), Message.from_role_and_content(Role.USER, "b")]
    convo = Conversation.from_messages(msgs)
    assert list(convo) == msgs
    assert Conversation.from_json(convo.to_json()) == convo
    assert convo.to_dict() == {"messages": [m.to_dict() for m in msgs]}


def test_system_content_defaults_match_the_core() -> None:
    core = json.loads(_native.default_system_content_json())
    ours = SystemContent.new().to_dict()
    for key, value in core.items():
        assert ours[key] == value, key


def test_system_content_builders() -> None:
    content = (
        SystemContent.new()
        .with_model_identity("You are a test.")
        .with_reasoning_effort(ReasoningEffort.HIGH)
        .with_knowledge_cutoff("2025-01")
        .with_conversation_start_date("2025-06-28")
        .with_required_channels(["analysis", "final"])
        .with_python_tool()
    )
    assert content.reasoning_effort is ReasoningEffort.HIGH
    assert content.channel_config == ChannelConfig.require_channels(["analysis", "final"])
    assert content.tools is not None and set(content.tools) == {"python"}
    assert SystemContent.from_dict(content.to_dict()) == content


def test_tool_description_and_namespaces() -> None:
    positional = ToolDescription.new("f", "does f", {"type": "object"})
    assert positional == ToolDescription(name="f", description="does f", parameters={"type": "object"})
    assert ToolDescription.new("g", "no args").parameters is None
    ns = ToolNamespaceConfig(name="functions", description=None, tools=[positional])
    assert ns.tools[0].name == "f"
    browser = ToolNamespaceConfig.browser()
    assert browser.name == "browser" and [t.name for t in browser.tools] == ["search", "open", "find"]
    assert ToolNamespaceConfig.python().name == "python"


def test_render_config_defaults() -> None:
    assert RenderConversationConfig().auto_drop_analysis is True
    assert RenderOptions().conversation_has_function_tools is False


def test_json_forms_are_the_references_and_pydantic_json_is_lossless() -> None:
    # to_json is the reference's, byte for byte: None fields are left out,
    # so a line turned off (None) comes back on with its default, as there.
    content = SystemContent.new()
    content.model_identity = None
    content.reasoning_effort = None
    msg = Message.from_role_and_content(Role.SYSTEM, content)
    assert msg.to_json() == (
        '{"role": "system", "name": null, "content": [{"knowledge_cutoff": "2024-06", "channel_config": '
        '{"valid_channels": ["analysis", "commentary", "final"], "channel_required": true}, "type": "system_content"}]}'
    )
    back = Message.from_json(msg.to_json()).content[0]
    assert isinstance(back, SystemContent) and back.model_identity == SystemContent.new().model_identity
    # pydantic's JSON keeps every field: the lossless round trip.
    restored = Message.model_validate_json(msg.model_dump_json())
    assert restored == msg
    kept = restored.content[0]
    assert isinstance(kept, SystemContent)
    assert kept.model_identity is None and kept.reasoning_effort is None


@pytest.mark.parametrize(
    "raw, field",
    [
        ({"content": "hi"}, "'role'"),
        ({"role": "user", "content": [{"type": "text"}]}, "'text'"),
        ({"role": "user", "content": [{"txt": "hi"}]}, "'text'"),
        (["user", "hi"], "must be a dict"),
        ("user", "must be a dict"),
    ],
)
def test_malformed_message_dicts_are_value_errors_naming_the_field(raw: Any, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Message.from_dict(raw)
    with pytest.raises(ValueError, match=r"messages\[0\]: .*" + field):
        Conversation.from_dict({"messages": [raw]})
    with pytest.raises(ValueError, match="must be a list"):
        Conversation.from_dict({"messages": {"role": "user"}})


def test_the_message_shape_is_the_cores() -> None:
    """One home for the message JSON's keys (the core's ``chat::keys``): the
    models' fields, ``to_dict``'s keys and the content tags are the core's."""
    from openai_harmony import _native

    role, name, content, *header = _native.MESSAGE_KEYS
    assert set(Message.model_fields) == {"author", content, *header}
    assert set(Author.model_fields) == {role, name}
    full = Message.from_author_and_content(Author.new(Role.TOOL, "n"), "t").with_channel("c")
    full = full.with_recipient("r").with_content_type("ct")
    assert tuple(full.to_dict()) == _native.MESSAGE_KEYS
    assert Message.from_dict(full.to_dict()) == full
    tags = tuple(c.model_fields["type"].default for c in (TextContent, SystemContent, DeveloperContent))
    assert tags == _native.CONTENT_TAGS
