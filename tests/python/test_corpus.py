"""The corpus of malformed gpt-oss completions from public reports
(test-data/parse/corpus.json, also read by tests/corpus.rs).

Lenient parsing gives the messages the model meant, in one go and token by
token, including what a streaming server reads after each token
(``last_content_delta`` under ``current_channel`` / ``current_recipient``);
strict parsing raises exactly where the reference raises, with its message,
and otherwise returns the reference's messages.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from conftest import load_cases, names
from openai_harmony import HarmonyEncoding, HarmonyError, Message, Role, StreamableParser, set_parse_mode

CASES = load_cases("parse/corpus.json")


def simple(m: Message) -> Dict[str, Any]:
    """A message in the corpus's form (absent keys for None)."""
    out: Dict[str, Any] = {"role": m.author.role.value}
    for key, value in (
        ("name", m.author.name),
        ("channel", m.channel),
        ("recipient", m.recipient),
        ("content_type", m.content_type),
    ):
        if value is not None:
            out[key] = value
    out["content"] = "".join(getattr(c, "text", "") for c in m.content)
    return out


def role_of(case: Dict[str, Any]) -> Optional[Role]:
    return None if case["role"] is None else Role(case["role"])


Run = Tuple[Optional[str], Optional[str], str]


def expected_runs(messages: List[Dict[str, Any]]) -> List[Run]:
    """What a streaming reader should see: each message's text under its
    channel and recipient (consecutive equal pairs merge)."""
    runs: List[Run] = []
    for m in messages:
        if not m["content"]:
            continue
        key = (m.get("channel"), m.get("recipient"))
        if runs and runs[-1][:2] == key:
            runs[-1] = (key[0], key[1], runs[-1][2] + m["content"])
        else:
            runs.append((key[0], key[1], m["content"]))
    return runs


def stream(enc: HarmonyEncoding, case: Dict[str, Any], strict: bool) -> Tuple[List[Dict[str, Any]], List[Run]]:
    parser = StreamableParser(enc, role_of(case), strict=strict, tools=case["tools"])
    runs: List[Run] = []
    for token in enc.encode(case["completion"], allowed_special="all"):
        parser.process(token)
        delta = parser.last_content_delta
        if delta:
            key = (parser.current_channel, parser.current_recipient)
            if runs and runs[-1][:2] == key:
                runs[-1] = (key[0], key[1], runs[-1][2] + delta)
            else:
                runs.append((key[0], key[1], delta))
    parser.process_eos()
    return [simple(m) for m in parser.messages], runs


def test_corpus_size_and_provenance() -> None:
    assert len(CASES) >= 30
    for case in CASES:
        assert case["source"].startswith("https://"), case["name"]
        assert case["provenance"] in ("verbatim", "reconstructed"), case["name"]
        assert case["error"], case["name"]
    assert len({c["source"].split("#")[0] for c in CASES}) >= 25, "cases from many reports"


@pytest.fixture
def process_lenient() -> Iterator[None]:
    """The process-wide lenient mode, as a server gets it."""
    set_parse_mode("lenient")
    try:
        yield
    finally:
        set_parse_mode("strict")


@pytest.mark.parametrize("case", CASES, ids=names(CASES))
def test_lenient_gives_the_intended_messages(enc: HarmonyEncoding, case: Dict[str, Any], process_lenient: None) -> None:
    tokens = enc.encode(case["completion"], allowed_special="all")
    # Strict by the caller, lenient by the process-wide setting.
    parsed = enc.parse_completion(tokens, role_of(case), tools=case["tools"])
    assert [simple(m) for m in parsed.messages] == case["intended"]
    messages, runs = stream(enc, case, strict=True)
    assert messages == case["intended"]
    assert runs == expected_runs(case["intended"])


@pytest.mark.parametrize("case", CASES, ids=names(CASES))
def test_strict_is_the_reference(enc: HarmonyEncoding, case: Dict[str, Any]) -> None:
    tokens = enc.encode(case["completion"], allowed_special="all")
    reference = case["reference"]
    if "error" in reference:
        with pytest.raises(HarmonyError) as err:
            enc.parse_messages_from_completion_tokens(tokens, role_of(case))
        assert str(err.value) == reference["error"]
    else:
        got = [simple(m) for m in enc.parse_messages_from_completion_tokens(tokens, role_of(case))]
        # Deviation 1 (test-data/deviations.md): a lone constrained type on
        # the final channel is the content type in strict mode too.
        want = [
            {**{k: v for k, v in m.items() if k != "recipient"}, "content_type": m["recipient"]}
            if m.get("channel") == "final" and str(m.get("recipient", "")).startswith("<|constrain|>")
            else m
            for m in reference["messages"]
        ]
        assert got == want
    if case["stream_error"] is None:
        stream(enc, case, strict=True)
    else:
        with pytest.raises(HarmonyError) as err:
            stream(enc, case, strict=True)
        assert str(err.value) == case["stream_error"]
