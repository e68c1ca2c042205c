"""The rules of the deliberate deviations in ``test-data/deviations.md``.

``explain(case, ref, ours)`` names the family that accounts for a
difference, or returns ``None`` when none does (an undocumented difference).
Each family's rule is narrow: it transforms the reference's output the way
the deviation says and requires equality, or, where the reference has no
output to compare with (it raised), requires that everything before that
point is identical.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set

CONSTRAIN = "<|constrain|>"


def listed_families(path: Path) -> Set[str]:
    """The families ``deviations.md`` lists (``<!-- family: NAME -->`` markers)."""
    return set(re.findall(r"<!-- family: ([a-z_]+) -->", path.read_text(encoding="utf-8")))


def open_families(path: Path) -> Set[str]:
    """Listed families that are open differences still to fix (``<!-- open: NAME -->``)."""
    return set(re.findall(r"<!-- open: ([a-z_]+) -->", path.read_text(encoding="utf-8")))


def describe(case: Dict[str, Any], ref: Any, ours: Any) -> Iterator[str]:
    """Where two outputs first differ, in a few lines."""
    if case["kind"] == "stream" and "steps" in ref and "steps" in ours:
        if ref["tokens"] != ours["tokens"]:
            yield f"tokens differ: ref {ref['tokens']} ours {ours['tokens']}"
            return
        yield f"tokens: {ref['tokens']}"
        for i, (a, b) in enumerate(zip(ref["steps"], ours["steps"])):
            if a != b:
                yield f"step {i} (token {ref['tokens'][i]}): ref {a}"
                yield f"{'':>{len(str(i)) + 18 + len(str(ref['tokens'][i]))}}ours {b}"
                break
        for key in ("eos", "messages", "batch"):
            if ref[key] != ours[key]:
                yield f"{key}: ref {_short(ref[key])}"
                yield f"{'':>{len(key)}}  ours {_short(ours[key])}"
        return
    if case["kind"] == "render" and "ok" in ref and "ok" in ours:
        yield from _text_diff(ref["ok"], ours["ok"])
        return
    yield f"ref:  {_short(ref)}"
    yield f"ours: {_short(ours)}"


def _text_diff(ref: Any, ours: Any) -> Iterator[str]:
    import difflib

    from openai_harmony import HarmonyEncodingName, load_harmony_encoding

    enc = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)

    def text(tokens: Any) -> List[str]:
        if tokens and isinstance(tokens[0], list):
            tokens = [t for m in tokens for t in m]
        return enc.decode(tokens).splitlines()

    a, b = text(ref), text(ours)
    if a == b:
        yield "same text, different token boundaries"
    yield from list(difflib.unified_diff(a, b, "ref", "ours", lineterm="", n=1))[:30]


def _short(x: Any, n: int = 1200) -> str:
    import json

    s = json.dumps(x, ensure_ascii=False)
    return s if len(s) <= n else s[:n] + "…"


# A stream step: [error, last_content_delta, channel, recipient, content_type, role, state, messages, content].
ERR, DELTA, CHANNEL, RECIPIENT, CONTENT_TYPE = 0, 1, 2, 3, 4


def explain(case: Dict[str, Any], ref: Any, ours: Any, repairs: List[int]) -> Optional[str]:
    """The family of deviations that accounts for this difference, if any."""
    if effort_refused_early(case, ours):
        return "effort_refused_early"
    if token_out_of_range(case, ref, ours):
        return "token_out_of_range"
    if case["kind"] != "stream" or "steps" not in ref or "steps" not in ours:
        return None
    strict = case["strict"]
    moved = constrain_as_content_type(ref, strict)
    if moved == ours:
        return "constrain"
    if not strict and repairs and lenient_prefix_matches(moved, ours, min(repairs)):
        return "lenient_repair"
    return None


def token_out_of_range(case: Dict[str, Any], ref: Any, ours: Any) -> bool:
    """Deviation 5: an int no u32 holds is an unknown token id, not the
    reference's OverflowError: no special token, and decoding names the
    first id that does not decode."""
    if case["kind"] != "tokenizer" or ref.get("error", "").split(":")[0] != "OverflowError":
        return False
    tokens = case.get("tokens", [case.get("token")])
    if not any(isinstance(t, int) and not 0 <= t < 2**32 for t in tokens):
        return False
    if case["op"] == "is_special":
        return bool(ours == {"ok": False})
    error = ours.get("error", "")
    named = any(error.endswith(f"Invalid token for decoding: {t}") for t in tokens)
    return error.startswith("HarmonyError: ") and named


EFFORTS = ("Low", "Medium", "High")


def case_efforts(value: Any) -> Iterator[Any]:
    """Every ``reasoning_effort`` the case's system contents are given."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "reasoning_effort":
                yield v
            else:
                yield from case_efforts(v)
    elif isinstance(value, list):
        for v in value:
            yield from case_efforts(v)


def effort_refused_early(case: Dict[str, Any], ours: Any) -> bool:
    """Deviation 6: ``with_reasoning_effort`` refuses a value that is not a
    reasoning effort when it is given (the reference refuses it when the
    message is rendered, or serializes it with a warning). Ours must be
    exactly that error, naming the first such value of the case."""
    bad = [e for e in case_efforts(case) if e is not None and e not in EFFORTS]
    if not bad or not isinstance(ours, dict):
        return False
    expected = f"ValueError: reasoning effort must be Low, Medium or High (a ReasoningEffort) or None, got {bad[0]!r}"
    return ours.get("error") == expected


def constrain_as_content_type(ref: Dict[str, Any], strict: bool) -> Dict[str, Any]:
    """Deviation 1: a lone `<|constrain|>…` header part is the content type,
    not the recipient (on `final` in strict mode, on every channel in
    lenient mode). Applied to the reference's output."""
    out = copy.deepcopy(ref)

    def applies(channel: Any, recipient: Any, content_type: Any) -> bool:
        return (
            isinstance(recipient, str)
            and recipient.startswith(CONSTRAIN)
            and content_type is None
            and (not strict or channel == "final")
        )

    for step in out["steps"]:
        if applies(step[CHANNEL], step[RECIPIENT], step[CONTENT_TYPE]):
            step[RECIPIENT], step[CONTENT_TYPE] = None, step[RECIPIENT]
    header = out["state_data"].get("ok", {}).get("header")
    if header and applies(header["channel"], header["recipient"], header["content_type"]):
        header["recipient"], header["content_type"] = None, header["recipient"]
    lists = [out["messages"]] + ([out["batch"]["ok"]] if "ok" in out["batch"] else [])
    for messages in lists:
        for m in messages:
            if applies(m.get("channel"), m.get("recipient"), m.get("content_type")):
                m["content_type"] = m.pop("recipient")
    return out


def lenient_prefix_matches(ref: Dict[str, Any], ours: Dict[str, Any], first_repair: int) -> bool:
    """Deviation 2: lenient mode repairs instead of raising, and reports each
    repair as a diagnostic at its token. Up to the first repair, every step
    is the reference's (and the reference raised nowhere before it)."""
    return ref["tokens"] == ours["tokens"] and ref["steps"][:first_repair] == ours["steps"][:first_repair]
