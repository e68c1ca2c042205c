"""Rendering the reference's way, for tool schemas that are not plain JSON.

Our messages cross to the core as pydantic's JSON. The reference instead
turns each message into a dict (``to_dict()``: pydantic's
``model_dump(exclude_none=True)`` of system and developer content, in its
own field order, with ``type`` last), writes it with ``json.dumps`` and
parses that text with serde_json. For plain JSON the two roads carry the
same text to the same parser. They part ways on what ``json.dumps`` and
pydantic write differently:

- dict keys that are not strings: ``json.dumps`` writes ``None`` as
  ``null`` and a NaN as ``NaN`` (pydantic: ``None``, ``nan``), and refuses a
  tuple or bytes key with a ``TypeError`` (pydantic: ``1,2``);
- floats that JSON cannot hold: ``json.dumps`` writes ``NaN`` and
  ``Infinity``, which serde_json rejects (``ValueError: invalid message
  JSON: expected value at line 1 column N``), where pydantic writes ``null``.

The core tells the two cases apart (``_native.NotPlainJson``, raised before
anything is rendered), so the common case costs nothing here; only then
does the package take the reference's road, to the same result and the same
error, column for column.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, Callable, Dict, List, Sequence, Tuple, TypeVar

from . import _native
from ._models import DeveloperContent, Message, SystemContent

T = TypeVar("T")

# The order in which the reference's models declare their fields.
_SYSTEM_FIELDS: Tuple[str, ...] = (
    "model_identity",
    "reasoning_effort",
    "conversation_start_date",
    "knowledge_cutoff",
    "channel_config",
    "tools",
)
# `response_formats` is ours alone; written after the reference's fields.
_DEVELOPER_FIELDS: Tuple[str, ...] = ("instructions", "tools", "response_formats")


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _content_dict(content: Any) -> Dict[str, Any]:
    if isinstance(content, SystemContent):
        fields, kind = _SYSTEM_FIELDS, "system_content"
    elif isinstance(content, DeveloperContent):
        fields, kind = _DEVELOPER_FIELDS, "developer_content"
    else:
        return {"type": "text", "text": content.text}
    dumped = content.model_dump(exclude_none=True, by_alias=True)
    if not dumped.get("response_formats"):
        dumped.pop("response_formats", None)
    out = {name: _plain(dumped[name]) for name in fields if name in dumped}
    out["type"] = kind
    return out


def _message_dict(message: Message) -> Dict[str, Any]:
    out: Dict[str, Any] = {
        "role": _plain(message.author.role),
        "name": message.author.name,
        "content": [_content_dict(c) for c in message.content],
    }
    for name in ("channel", "recipient", "content_type"):
        value = getattr(message, name)
        if value is not None:
            out[name] = value
    return out


def message_text(message: Message) -> str:
    """The reference's JSON text of a message (``json.dumps`` raises its
    ``TypeError`` for a key it refuses, as in the reference)."""
    return json.dumps(_message_dict(message))


def conversation_text(messages: Sequence[Message]) -> str:
    """The reference's JSON text of a conversation."""
    return json.dumps({"messages": [_message_dict(m) for m in messages]})


def reference_errors(text: str, render: Callable[[], T], what: str) -> T:
    """Runs a render of reference JSON ``text``, raising a parse failure as
    the reference does: ``ValueError: invalid {what} JSON: {serde's
    message}``, for the first problem in the text (a ``NaN``, an unknown
    reasoning effort), position included."""
    try:
        return render()
    except _native.HarmonyError as e:
        prefix = "Invalid JSON: "
        if str(e).startswith(prefix):
            raise ValueError(f"invalid {what} JSON: {str(e)[len(prefix) :]}") from None
        raise


def plain_messages(messages: Sequence[Message]) -> List[Message]:
    """Copies of ``messages`` whose tool schemas went through ``json.dumps``
    and back, for the renders the reference does not have (masks, spans,
    batches). NaN and infinities raise ``ValueError`` here."""

    def plain(value: Any) -> Any:
        return json.loads(json.dumps(value, allow_nan=False))

    out = []
    for message in messages:
        copy = message.model_copy(deep=True)
        for content in copy.content:
            tools = getattr(content, "tools", None) or {}
            for ns in tools.values():
                for tool in ns.tools:
                    if tool.parameters is not None:
                        tool.parameters = plain(tool.parameters)
            for fmt in getattr(content, "response_formats", None) or []:
                fmt.schema_ = plain(fmt.schema_)
        out.append(copy)
    return out
