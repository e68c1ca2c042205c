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

The core walks the schemas once (``convert.rs``, ``Schemas``). For the
renders the reference has, it refuses a schema that is not plain JSON
(``_native.NotPlainJson``, raised before anything is rendered), so the
common case costs nothing here; only then does the package take the
reference's road, to the same result and the same error, column for column.
For everything else (masks, spans, batches, interop) the core reads such
content as ``json.dumps`` writes it and no retry happens in Python.
"""

from __future__ import annotations

import json
from typing import Callable, Sequence, TypeVar

from . import _native
from ._models import Message

T = TypeVar("T")


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
