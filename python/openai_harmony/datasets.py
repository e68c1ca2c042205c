"""Training data for dataset engines: a batch of conversations to token ids
and loss masks.

``tokenize_batch`` takes a batch as Hugging Face ``datasets`` and Ray Data
hand it to a map function (a dict of columns: lists, or numpy arrays as Ray
passes them) and returns new columns::

    from openai_harmony.datasets import tokenize_batch

    ds = ds.map(tokenize_batch, batched=True, num_proc=8, remove_columns=ds.column_names)
    ds = ray_ds.map_batches(tokenize_batch)

Each process loads the encoding once (it is embedded; no download). The
work runs in the Rust core with the GIL released. See docs/training.md.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Literal, Mapping, Optional

from . import _native
from ._encoding import HarmonyEncoding, HarmonyEncodingName, load_harmony_encoding
from ._models import Conversation, Message

__all__ = ["tokenize_batch", "tokenize_rows"]

_ENCODING: Optional[HarmonyEncoding] = None


def _shared_encoding() -> HarmonyEncoding:
    global _ENCODING
    if _ENCODING is None:
        _ENCODING = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    return _ENCODING


def _plain(value: Any) -> Any:
    """numpy arrays and scalars (as Ray and Arrow hand them out) as JSON values."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    if isinstance(value, (Conversation, Message)):
        return json.loads(value.to_json())
    raise TypeError(f"{type(value).__name__} is not JSON")


def _row_text(value: Any, index: int) -> Any:
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, Conversation):
        return value.to_json()
    if value is None:
        raise ValueError(f"row {index}: no conversation (None)")
    try:
        return json.dumps(value, default=_plain, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"row {index}: {e}") from None
    except RecursionError:
        raise ValueError(f"row {index}: nested too deeply to be JSON") from None


def tokenize_rows(
    rows: List[Any],
    *,
    train_on: Literal["all_assistant", "last_assistant_turn"] = "all_assistant",
    input_format: Literal["harmony", "chat"] = "harmony",
    date: Optional[str] = None,
    spans: bool = False,
    encoding: Optional[HarmonyEncoding] = None,
) -> Any:
    """The flat columns of ``rows`` (JSON text, dicts or lists each):
    ``(tokens, offsets, mask, kept, errors, spans)``, tokens and offsets as
    int32 bytes and the mask as int8 bytes (Arrow's layout of a list
    column), the input index of each kept row, ``(index, reason)`` of each
    bad row, and each row's message spans when asked. What
    ``tokenize_batch`` and ``harmony tokenize`` are built on."""
    enc = encoding or _shared_encoding()
    texts = [_row_text(v, i) for i, v in enumerate(rows)]
    return _native.tokenize_rows(enc._inner, texts, input_format, train_on, date, spans)


def tokenize_batch(
    batch: Mapping[str, Any],
    *,
    column: str = "conversation",
    train_on: Literal["all_assistant", "last_assistant_turn"] = "all_assistant",
    input_format: Literal["harmony", "chat"] = "harmony",
    spans: bool = False,
    date: Optional[str] = None,
    encoding: Optional[HarmonyEncoding] = None,
) -> Dict[str, List[Any]]:
    """``{"input_ids": [...], "loss_mask": [...]}`` (one list per row) for
    the conversations in ``batch[column]``, plus ``"message_spans"`` (each
    row's ``{index, role, channel, start, end}``) with ``spans=True``.

    A conversation is harmony JSON text, a dict (``Conversation.to_dict()``
    or its ``{"messages": [...]}``), a list of messages, or a
    ``Conversation``; with ``input_format="chat"``, a Chat Completions
    request (``{"messages": [...], "tools": [...]}``) or its ``messages``
    list, converted as ``openai_harmony.interop`` converts requests
    (``date`` is the system message's date; today by default). The tokens
    are ``render_conversation_for_training_with_mask``'s. A bad row raises
    ``ValueError`` naming the row and the reason."""
    if column not in batch:
        raise ValueError(f"the batch has no column {column!r} (it has: {', '.join(map(repr, batch))})")
    rows = list(batch[column])
    tokens, offsets, mask, kept, errors, span_rows = tokenize_rows(
        rows, train_on=train_on, input_format=input_format, date=date, spans=spans, encoding=encoding
    )
    if errors:
        index, reason = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ValueError(f"row {index} of the batch ({column!r}): {reason}{more}")
    ids, marks, ends = memoryview(tokens).cast("i"), memoryview(mask).cast("b"), memoryview(offsets).cast("i")
    out: Dict[str, List[Any]] = {
        "input_ids": [ids[ends[k] : ends[k + 1]].tolist() for k in range(len(kept))],
        "loss_mask": [marks[ends[k] : ends[k + 1]].tolist() for k in range(len(kept))],
    }
    if spans:
        out["message_spans"] = [
            [{"index": i, "role": r, "channel": c, "start": s, "end": e} for i, r, c, s, e in row] for row in span_rows
        ]
    return out
