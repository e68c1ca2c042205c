"""The data model: pydantic v2 models mirroring the Rust core's ``chat`` module.

``model_dump`` / ``model_dump_json`` keep every field. ``to_dict`` /
``to_json`` are the reference's forms, key for key and byte for byte: a
message is ``{"role", "name", "content": [...]}`` plus ``channel``,
``recipient`` and ``content_type`` when set; system and developer content
leave out the fields that are None and end with their ``"type"``
(``system_content``, ``developer_content``; text is ``{"type": "text",
"text"}``); ``to_json`` is ``json.dumps`` of the dict. As in the reference,
reading such a dict back gives the defaults for the fields left out.
"""

from __future__ import annotations

import json
import reprlib
from enum import Enum
from typing import Any, Dict, Iterator, List, Literal, Optional, Sequence, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from . import _native

# The message JSON's keys and content tags, from the core (``chat::keys``):
# role and name (the author's), content, then the header fields written
# only when set, which are also this module's field names on ``Message``.
_ROLE, _NAME, _CONTENT, *_HEADER_KEYS = _native.MESSAGE_KEYS
_TEXT, _SYSTEM_CONTENT, _DEVELOPER_CONTENT = _native.CONTENT_TAGS

__all__ = [
    "Author",
    "ChannelConfig",
    "Content",
    "Conversation",
    "DeveloperContent",
    "Message",
    "ReasoningEffort",
    "RenderConversationConfig",
    "RenderOptions",
    "ResponseFormat",
    "Role",
    "SystemContent",
    "TextContent",
    "ToolDescription",
    "ToolNamespaceConfig",
]


class Role(str, Enum):
    """Who a message is from. A ``str`` enum: ``Role("user") == "user"``."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    DEVELOPER = "developer"
    TOOL = "tool"

    @classmethod
    def _missing_(cls, value: object) -> Role:
        raise ValueError(f"Unknown role: {value!r}")

    def __str__(self) -> str:
        return self.value


class ReasoningEffort(str, Enum):
    """The ``Reasoning:`` line of the system message."""

    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"

    def __str__(self) -> str:
        return self.value


def _reasoning_effort(value: Any) -> Optional[ReasoningEffort]:
    if value is None or isinstance(value, ReasoningEffort):
        return value
    if isinstance(value, str):
        try:
            return ReasoningEffort(value)
        except ValueError:
            pass
    shown = reprlib.repr(value)  # bounded, even for a value nested past the recursion limit
    raise ValueError(f"reasoning effort must be Low, Medium or High (a ReasoningEffort) or None, got {shown}")


class Author(BaseModel):
    """A message's author: a role and, for tool messages, the tool's name."""

    role: Role
    name: Optional[str] = None

    @classmethod
    def new(cls, role: Role, name: Optional[str] = None) -> Author:
        """An author with this role and, optionally, a name (a tool's name, e.g. ``functions.get_weather``)."""
        return cls(role=role, name=name)


class Content(BaseModel):
    """Base class of the content items."""

    def to_dict(self) -> Dict[str, Any]:
        """The content's JSON form, with its ``type``."""
        raise NotImplementedError


class TextContent(Content):
    """Plain text."""

    type: Literal["text"] = Field(default="text", repr=False)
    text: str

    def to_dict(self) -> Dict[str, Any]:
        """``{"type": "text", "text": ...}``."""
        return {"type": _TEXT, "text": self.text}


class ToolDescription(BaseModel):
    """One tool: a name, a description and a JSON Schema for its arguments."""

    name: str
    description: str
    parameters: Optional[Dict[str, Any]] = None

    @classmethod
    def new(cls, name: str, description: str, parameters: Optional[Dict[str, Any]] = None) -> ToolDescription:
        """A tool with a name, a description and, optionally, a JSON Schema of its parameters."""
        return cls(name=name, description=description, parameters=parameters)


class ToolNamespaceConfig(BaseModel):
    """A namespace of tools (``functions``, ``browser``, ``python``)."""

    name: str
    description: Optional[str] = None
    tools: List[ToolDescription] = Field(default_factory=list)

    @staticmethod
    def browser() -> ToolNamespaceConfig:
        """The built-in browser tool (``search``, ``open``, ``find``)."""
        return ToolNamespaceConfig.model_validate_json(_native.browser_tool_json())

    @staticmethod
    def python() -> ToolNamespaceConfig:
        """The built-in python tool."""
        return ToolNamespaceConfig.model_validate_json(_native.python_tool_json())


class ChannelConfig(BaseModel):
    """The ``# Valid channels:`` line of the system message."""

    valid_channels: List[str]
    channel_required: bool

    @classmethod
    def require_channels(cls, channels: Sequence[str]) -> ChannelConfig:
        """The given channels, each message required to name one."""
        return cls(valid_channels=list(channels), channel_required=True)


def _default_channels() -> ChannelConfig:
    return ChannelConfig.require_channels(["analysis", "commentary", "final"])


class SystemContent(Content):
    """The body of a system message. ``None`` turns a line off."""

    type: Literal["system_content"] = Field(default="system_content", repr=False)
    # In the reference's order, which `to_dict` and `to_json` keep.
    model_identity: Optional[str] = "You are ChatGPT, a large language model trained by OpenAI."
    reasoning_effort: Optional[ReasoningEffort] = ReasoningEffort.MEDIUM
    conversation_start_date: Optional[str] = None
    knowledge_cutoff: Optional[str] = "2024-06"
    channel_config: Optional[ChannelConfig] = Field(default_factory=_default_channels)
    tools: Optional[Dict[str, ToolNamespaceConfig]] = None

    model_config = ConfigDict(protected_namespaces=())

    @classmethod
    def new(cls) -> SystemContent:
        """The system content gpt-oss expects: its identity, medium reasoning,
        knowledge cutoff 2024-06, and the analysis, commentary and final
        channels."""
        return cls()

    def with_model_identity(self, model_identity: str) -> SystemContent:
        """Sets the model identity (the first line of the system message); returns ``self``."""
        self.model_identity = model_identity
        return self

    def with_reasoning_effort(self, reasoning_effort: Optional[ReasoningEffort]) -> SystemContent:
        """Sets the reasoning effort (``Reasoning: low|medium|high``) and returns ``self``:
        a ``ReasoningEffort``, its value (``"Low"``, ``"Medium"``, ``"High"``)
        or ``None`` (no ``Reasoning:`` line). Anything else is a
        ``ValueError`` here, not later when the message is rendered (where
        the reference refuses it)."""
        self.reasoning_effort = _reasoning_effort(reasoning_effort)
        return self

    def with_tools(self, ns_config: ToolNamespaceConfig) -> SystemContent:
        """Adds this tool namespace (built-in tools live in the system message); returns ``self``."""
        if self.tools is None:
            self.tools = {}
        self.tools[ns_config.name] = ns_config
        return self

    def with_browser_tool(self) -> SystemContent:
        """Adds the built-in ``browser`` tool (search, open, find); returns ``self``."""
        return self.with_tools(ToolNamespaceConfig.browser())

    def with_python_tool(self) -> SystemContent:
        """Adds the built-in ``python`` tool; returns ``self``."""
        return self.with_tools(ToolNamespaceConfig.python())

    def with_conversation_start_date(self, conversation_start_date: str) -> SystemContent:
        """Sets ``Current date:`` (``YYYY-MM-DD``); returns ``self``."""
        self.conversation_start_date = conversation_start_date
        return self

    def with_knowledge_cutoff(self, knowledge_cutoff: str) -> SystemContent:
        """Sets ``Knowledge cutoff:``; returns ``self``."""
        self.knowledge_cutoff = knowledge_cutoff
        return self

    def with_channel_config(self, channel_config: ChannelConfig) -> SystemContent:
        """Sets the channel configuration; returns ``self``."""
        self.channel_config = channel_config
        return self

    def with_required_channels(self, channels: Sequence[str]) -> SystemContent:
        """Requires each message to name one of these channels; returns ``self``."""
        return self.with_channel_config(ChannelConfig.require_channels(channels))

    def to_dict(self) -> Dict[str, Any]:
        """The JSON form, ``{"type": "system_content", ...}``."""
        return _content_dict(self, _SYSTEM_CONTENT)

    @classmethod
    def from_dict(cls, raw: Dict[str, Any]) -> SystemContent:
        """Reads the JSON form ``to_dict`` writes."""
        return cls.model_validate({k: v for k, v in raw.items() if k != "type"})


class ResponseFormat(BaseModel):
    """A structured-output format, rendered under ``# Response Formats``."""

    name: str
    description: Optional[str] = None
    schema_: Dict[str, Any] = Field(alias="schema")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    @classmethod
    def new(cls, name: str, schema: Dict[str, Any], description: Optional[str] = None) -> ResponseFormat:
        """A structured-output format: a name, a JSON Schema the final answer must match, an optional description."""
        return cls.model_validate({"name": name, "schema": schema, "description": description})


class DeveloperContent(Content):
    """The body of a developer message: instructions, tools, response formats."""

    type: Literal["developer_content"] = Field(default="developer_content", repr=False)
    instructions: Optional[str] = None
    tools: Optional[Dict[str, ToolNamespaceConfig]] = None
    response_formats: List[ResponseFormat] = Field(default_factory=list)

    @classmethod
    def new(cls) -> DeveloperContent:
        """Empty developer content: no instructions, no tools."""
        return cls()

    def with_instructions(self, instructions: str) -> DeveloperContent:
        """Sets the instructions (``# Instructions``); returns ``self``."""
        self.instructions = instructions
        return self

    def with_tools(self, ns_config: ToolNamespaceConfig) -> DeveloperContent:
        """Adds this tool namespace; returns ``self``."""
        if self.tools is None:
            self.tools = {}
        self.tools[ns_config.name] = ns_config
        return self

    def with_function_tools(self, tools: Sequence[ToolDescription]) -> DeveloperContent:
        """Puts these tools in the ``functions`` namespace; returns ``self``."""
        return self.with_tools(ToolNamespaceConfig(name="functions", description=None, tools=list(tools)))

    def with_response_format(self, response_format: ResponseFormat) -> DeveloperContent:
        """Adds this response format (``# Response Formats``); returns ``self``."""
        self.response_formats.append(response_format)
        return self

    def to_dict(self) -> Dict[str, Any]:
        """The JSON form, ``{"type": "developer_content", ...}``."""
        out = _content_dict(self, _DEVELOPER_CONTENT)
        if not self.response_formats:
            # Ours alone: absent when unused, so the dict is the reference's.
            del out["response_formats"]
        return out

    @classmethod
    def from_dict(cls, raw: Dict[str, Any]) -> DeveloperContent:
        """Reads the JSON form ``to_dict`` writes."""
        return cls.model_validate({k: v for k, v in raw.items() if k != "type"})


def _content_dict(content: BaseModel, kind: str) -> Dict[str, Any]:
    """The reference's dict of system or developer content: the fields that
    are not None (enums as members), in declaration order, ``type`` last.
    Reading it back gives the model's defaults for the fields left out, as
    in the reference."""
    out = content.model_dump(exclude_none=True, by_alias=True)
    out.pop("type", None)
    out["type"] = kind
    return out


AnyContent = Union[TextContent, SystemContent, DeveloperContent]


class MessageFormatError(ValueError):
    """A message dict without a field it needs (``role``, a text item's
    ``text``), or not a dict at all: a ``ValueError`` naming the field."""


def _content_from_dict(raw: Any) -> AnyContent:
    if isinstance(raw, (TextContent, SystemContent, DeveloperContent)):
        return raw
    if isinstance(raw, str):
        return TextContent(text=raw)
    if not isinstance(raw, dict):
        raise ValueError(f"Unknown content item: {raw!r}")
    kind = raw.get("type", _TEXT)
    if kind == _TEXT:
        if "text" not in raw:
            raise MessageFormatError(f"content item {raw!r}: missing field 'text'")
        return TextContent(text=raw["text"])
    if kind == _SYSTEM_CONTENT:
        return SystemContent.from_dict(raw)
    if kind == _DEVELOPER_CONTENT:
        return DeveloperContent.from_dict(raw)
    raise ValueError(f"Unknown content type: {kind}")


def _as_content(content: Union[str, Content]) -> AnyContent:
    if isinstance(content, str):
        return TextContent(text=content)
    if isinstance(content, (TextContent, SystemContent, DeveloperContent)):
        return content
    raise TypeError(f"content must be a str, TextContent, SystemContent or DeveloperContent, not {type(content)!r}")


class Message(BaseModel):
    """One message: an author, content items, and the header fields."""

    author: Author
    content: List[AnyContent] = Field(default_factory=list)
    channel: Optional[str] = None
    recipient: Optional[str] = None
    content_type: Optional[str] = None

    @field_validator("content", mode="before")
    @classmethod
    def _coerce_content(cls, value: Any) -> Any:
        if isinstance(value, (str, dict, Content)):
            value = [value]
        if isinstance(value, (list, tuple)):
            return [_content_from_dict(item) for item in value]
        return value

    @classmethod
    def from_author_and_content(cls, author: Author, content: Union[str, Content]) -> Message:
        """A message by this author with one content item (a string becomes ``TextContent``)."""
        return cls(author=author, content=[_as_content(content)])

    @classmethod
    def from_role_and_content(cls, role: Role, content: Union[str, Content]) -> Message:
        """A message by an author with this role and no name, with one content item."""
        return cls.from_author_and_content(Author(role=role), content)

    @classmethod
    def from_role_and_contents(cls, role: Role, contents: Sequence[Union[str, Content]]) -> Message:
        """A message by an author with this role, with these content items."""
        return cls(author=Author(role=role), content=[_as_content(c) for c in contents])

    def adding_content(self, content: Union[str, Content]) -> Message:
        """Appends one content item; returns ``self``."""
        self.content.append(_as_content(content))
        return self

    def with_channel(self, channel: Optional[str]) -> Message:
        """Sets the channel (``analysis``, ``commentary``, ``final``), or none; returns ``self``."""
        self.channel = channel
        return self

    def with_recipient(self, recipient: Optional[str]) -> Message:
        """Sets the recipient (``functions.get_weather``, ``assistant``), or none; returns ``self``."""
        self.recipient = recipient
        return self

    def with_content_type(self, content_type: Optional[str]) -> Message:
        """Sets the content type (``<|constrain|>json``), or none; returns ``self``."""
        self.content_type = content_type
        return self

    def to_dict(self) -> Dict[str, Any]:
        """The harmony JSON form of the message (role, name, content, channel, recipient, content_type)."""
        out: Dict[str, Any] = {
            _ROLE: self.author.role,
            _NAME: self.author.name,
            _CONTENT: [c.to_dict() for c in self.content],
        }
        for key in _HEADER_KEYS:
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    def to_json(self) -> str:
        """``to_dict()`` as JSON text."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Message:
        """Reads the JSON form ``to_dict`` writes (a string ``content`` is one
        text item). A malformed dict raises ``ValueError`` naming the field."""
        if not isinstance(data, dict):
            raise MessageFormatError(f"a message must be a dict (JSON object), not {type(data).__name__}")
        if _ROLE not in data:
            raise MessageFormatError(f"message: missing field '{_ROLE}'")
        content = data.get(_CONTENT)
        items = [] if content is None else content if isinstance(content, list) else [content]
        return cls(
            author=Author(role=Role(data[_ROLE]), name=data.get(_NAME)),
            content=[_content_from_dict(raw) for raw in items],
            **{key: data.get(key) for key in _HEADER_KEYS},
        )

    @classmethod
    def from_json(cls, payload: str) -> Message:
        """``from_dict`` of JSON text."""
        return cls.from_dict(json.loads(payload))


class Conversation(BaseModel):
    """A list of messages."""

    messages: List[Message] = Field(default_factory=list)

    @classmethod
    def from_messages(cls, messages: Sequence[Message]) -> Conversation:
        """A conversation of these messages, in order."""
        return cls(messages=list(messages))

    def __iter__(self) -> Iterator[Message]:  # type: ignore[override]
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def to_dict(self) -> Dict[str, Any]:
        """``{"messages": [...]}``, each message's ``to_dict()``."""
        return {"messages": [m.to_dict() for m in self.messages]}

    def to_json(self) -> str:
        """``to_dict()`` as JSON text."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any) -> Conversation:
        """Reads ``{"messages": [...]}`` (or the list itself). A malformed
        message raises ``ValueError`` naming it and the field."""
        raw = data.get("messages", []) if isinstance(data, dict) else data
        if not isinstance(raw, list):
            raise ValueError(f"conversation: 'messages' must be a list, not {type(raw).__name__}")
        messages = []
        for i, m in enumerate(raw):
            try:
                messages.append(Message.from_dict(m))
            except MessageFormatError as error:
                # Only the errors the reference has no answer for (it raises
                # KeyError); its own errors stay exactly as it raises them.
                raise MessageFormatError(f"messages[{i}]: {error}") from None
        return cls(messages=messages)

    @classmethod
    def from_json(cls, payload: str) -> Conversation:
        """``from_dict`` of JSON text."""
        return cls.from_dict(json.loads(payload))


class RenderConversationConfig(BaseModel):
    """Options for rendering a conversation."""

    auto_drop_analysis: bool = True


class RenderOptions(BaseModel):
    """Options for rendering one message."""

    conversation_has_function_tools: bool = False
