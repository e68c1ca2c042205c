"""Rendering the reference's way, for tool schemas that are not plain JSON.

Our messages cross to the core as pydantic's JSON. The reference instead
turns each message into a dict (``to_dict()``, the same as ours), writes it
with ``json.dumps`` and parses that text with serde_json. For plain JSON the two roads carry the
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
from typing import Any, Callable, List, Sequence, TypeVar

from . import _native
from ._models import Message

T = TypeVar("T")
S = TypeVar("S")


def message_text(message: Message) -> str:
    """The reference's JSON text of a message (``json.dumps`` raises its
    ``TypeError`` for a key it refuses, as in the reference)."""
    return message.to_json()


def conversation_text(messages: Sequence[Message]) -> str:
    """The reference's JSON text of a conversation."""
    return json.dumps({"messages": [m.to_dict() for m in messages]})


def reference_errors(text: str, render: Callable[[], T], what: str) -> T:
    """Runs a render of reference JSON ``text``, raising a parse failure as
    the reference does: ``ValueError: invalid {what} JSON: {serde's
    message}``, for the first problem in the text (a ``NaN``, an unknown
    reasoning effort), position included."""
    try:
        return render()
    except _native.HarmonyError as e:
        if getattr(e, "kind", None) == "json":
            raise ValueError(f"invalid {what} JSON: {getattr(e, 'detail', '')}") from None
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


def not_plain_error(error: Exception) -> ValueError:
    """The ``ValueError`` for a schema the core cannot take even as plain
    JSON (nested deeper than it reads)."""
    return ValueError(f"{error} (nested too deeply?)")


def on_plain(render: Callable[[S], T], value: S, plain: Callable[[S], S]) -> T:
    """``render(value)``; when a tool schema in it is not plain JSON,
    ``render(plain(value))``; a schema not even that makes plain is a
    ``ValueError``, never the internal ``NotPlainJson``. The one retry every
    render of models goes through."""
    try:
        return render(value)
    except _native.NotPlainJson:
        pass
    try:
        return render(plain(value))
    except _native.NotPlainJson as error:
        raise not_plain_error(error) from None


def on_plain_messages(render: Callable[[Sequence[Message]], T], messages: Sequence[Message]) -> T:
    """``on_plain`` for a list of messages (their plain copies: ``plain_messages``)."""
    return on_plain(render, messages, plain_messages)
