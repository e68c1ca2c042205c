"""Parsing: batch and streaming, strict and lenient (shared fixtures)."""

from __future__ import annotations

import random
from typing import Any, Dict, List, Optional

import pytest

from conftest import load_cases, names
from openai_harmony import (
    ContentDelta,
    Conversation,
    Diagnostic,
    HarmonyEncoding,
    HarmonyError,
    Message,
    MessageCompleted,
    MessageStarted,
    Role,
    StreamableParser,
    StreamState,
)

LENIENT_CASES: List[Dict[str, Any]] = load_cases("parse/lenient.json")

COMPLETION = (
    "<|channel|>analysis<|message|>User asks: 2 + 2. Simple.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>2 + 2 = 4.<|return|>"
)


def role_of(case: Dict[str, Any]) -> Optional[Role]:
    return None if case["role"] is None else Role(case["role"])


def expected_messages(case: Dict[str, Any]) -> List[Message]:
    return [Message.from_dict(m) for m in case["messages"]]


def test_batch_parse(enc: HarmonyEncoding) -> None:
    tokens = enc.encode(COMPLETION, allowed_special="all")
    messages = enc.parse_messages_from_completion_tokens(tokens, role=Role.ASSISTANT)
    assert [(m.channel, m.content[0].text) for m in messages] == [  # type: ignore[union-attr]
        ("analysis", "User asks: 2 + 2. Simple."),
        ("final", "2 + 2 = 4."),
    ]
    assert all(m.author.role == "assistant" for m in messages)


def test_render_then_parse_round_trip(enc: HarmonyEncoding) -> None:
    convo = Conversation.from_messages(
        [
            Message.from_role_and_content(Role.ASSISTANT, "Need the tool.").with_channel("analysis"),
            Message.from_role_and_content(Role.ASSISTANT, '{"q": 1}')
            .with_channel("commentary")
            .with_recipient("functions.lookup")
            .with_content_type("<|constrain|>json"),
        ]
    )
    tokens = enc.render_conversation(convo)
    assert enc.parse_messages_from_completion_tokens(tokens) == convo.messages


def test_streaming_matches_the_reference_example(enc: HarmonyEncoding) -> None:
    parser = StreamableParser(enc, role=Role.ASSISTANT)
    assert parser.state is StreamState.HEADER and parser.current_role is Role.ASSISTANT
    deltas = []
    for token in enc.encode(COMPLETION, allowed_special="all"):
        assert parser.process(token) is parser
        if parser.last_content_delta:
            deltas.append((parser.current_channel, parser.last_content_delta))
    assert "".join(d for c, d in deltas if c == "final") == "2 + 2 = 4."
    assert parser.state is StreamState.EXPECT_START
    assert parser.process_eos() is parser
    assert len(parser.messages) == 2
    assert parser.tokens == enc.encode(COMPLETION, allowed_special="all")


def test_current_fields_while_streaming(enc: HarmonyEncoding) -> None:
    parser = StreamableParser(enc, Role.ASSISTANT)
    header = "<|channel|>commentary to=functions.f <|constrain|>json<|message|>{"
    for token in enc.encode(header, allowed_special="all"):
        parser.process(token)
    assert parser.state is StreamState.CONTENT
    assert (parser.current_channel, parser.current_recipient, parser.current_content_type) == (
        "commentary",
        "functions.f",
        "<|constrain|>json",
    )
    assert parser.current_content == "{"
    data = parser.state_data
    assert data["state"] == "Content" and data["header"]["recipient"] == "functions.f"


def test_messages_are_read_incrementally(enc: HarmonyEncoding) -> None:
    parser = StreamableParser(enc, Role.ASSISTANT)
    seen: List[int] = []
    first: Optional[Message] = None
    for token in enc.encode(COMPLETION, allowed_special="all"):
        parser.process(token)
        seen.append(len(parser.messages))
        if parser.messages and first is None:
            first = parser.messages[0]
    # As the reference, every read is a new list of new objects: what the
    # caller does with them never changes the parser.
    assert first is not None and parser.messages[0] is not first and parser.messages[0] == first
    assert seen[-1] == 2 and sorted(seen) == seen
    messages = parser.messages
    messages[0].content[0].text = "changed"  # type: ignore[union-attr]
    messages[0].channel = "changed"
    messages.clear()
    assert len(parser.messages) == 2 and parser.messages[0] == first


class CountingParser(StreamableParser):
    """A subclass as vLLM-style servers write them."""

    def __init__(self, encoding: HarmonyEncoding, role: Optional[Role], *, strict: bool = True) -> None:
        super().__init__(encoding, role, strict=strict)
        self.seen = 0

    def process(self, token: int) -> CountingParser:
        self.seen += 1
        super().process(token)
        return self


def test_subclassing(enc: HarmonyEncoding) -> None:
    tokens = enc.encode(COMPLETION, allowed_special="all")
    parser = CountingParser(enc, Role.ASSISTANT, strict=False)
    for token in tokens:
        parser.process(token)
    assert parser.seen == len(tokens) and len(parser.messages) == 2 and not parser.strict


class TaggedParser(StreamableParser):
    """A subclass with a signature of its own (the native base takes any)."""

    def __init__(self, tag: str, encoding: HarmonyEncoding, *, extra: int = 0) -> None:
        super().__init__(encoding, Role.ASSISTANT)
        self.tag = tag
        self.extra = extra


class ForgetfulParser(StreamableParser):
    def __init__(self, encoding: HarmonyEncoding) -> None:
        self.encoding = encoding


def test_subclass_signatures_and_a_missing_init(enc: HarmonyEncoding) -> None:
    tokens = enc.encode(COMPLETION, allowed_special="all")
    tagged = TaggedParser("t", enc, extra=3)
    assert all(tagged.process(t) is tagged for t in tokens) and tagged.process_eos() is tagged
    assert len(tagged.messages) == 2
    assert (tagged.tag, tagged.extra) == ("t", 3)
    forgetful = ForgetfulParser(enc)
    # No crash: a clear error naming what is missing, on every entry point.
    for call in (lambda: forgetful.process(tokens[0]), lambda: forgetful.last_content_delta, lambda: forgetful.state):
        with pytest.raises(RuntimeError, match=r"super\(\).__init__"):
            call()


def test_per_token_values_match_the_core(enc: HarmonyEncoding) -> None:
    # The per-token getters read the core's current values on every call;
    # the channel string is reused while it stays the same.
    parser = StreamableParser(enc, Role.ASSISTANT)
    deltas: List[Optional[str]] = []
    channels: List[str] = []
    for token in enc.encode(COMPLETION, allowed_special="all"):
        parser.process(token)
        deltas.append(parser.last_content_delta)
        channel = parser.current_channel
        if channel is not None and (not channels or channels[-1] != channel):
            channels.append(channel)
    texts = [m.content[0].text for m in parser.messages]  # type: ignore[union-attr]
    assert "".join(d for d in deltas if d) == "".join(texts)
    assert channels == [m.channel for m in parser.messages] and len(channels) == 2


def test_reset(enc: HarmonyEncoding) -> None:
    parser = StreamableParser(enc, Role.ASSISTANT)
    for token in enc.encode(COMPLETION, allowed_special="all"):
        parser.process(token)
    assert len(parser.messages) == 2
    parser.reset()
    assert parser.messages == [] and parser.tokens == [] and parser.state is StreamState.HEADER
    for token in enc.encode("<|channel|>final<|message|>again<|return|>", allowed_special="all"):
        parser.process(token)
    assert [m.content[0].text for m in parser.messages] == ["again"]  # type: ignore[union-attr]


def test_events(enc: HarmonyEncoding) -> None:
    parser = StreamableParser(enc, Role.ASSISTANT)
    events = []
    for token in enc.encode(COMPLETION, allowed_special="all"):
        parser.process(token)
        events.extend(parser.drain_events())
    started = [e for e in events if isinstance(e, MessageStarted)]
    assert [(e.index, e.role, e.channel) for e in started] == [
        (0, Role.ASSISTANT, "analysis"),
        (1, Role.ASSISTANT, "final"),
    ]
    text = "".join(e.text for e in events if isinstance(e, ContentDelta) and e.index == 1)
    assert text == "2 + 2 = 4."
    completed = [e for e in events if isinstance(e, MessageCompleted)]
    assert [e.message for e in completed] == parser.messages
    assert parser.drain_events() == []


def test_strict_errors_and_recovery(enc: HarmonyEncoding) -> None:
    parser = StreamableParser(enc, None)
    with pytest.raises(HarmonyError, match="Unexpected token 17 while expecting start token 200006"):
        parser.process(17)
    # As the reference: the token is recorded and the parser goes on.
    assert parser.tokens == [17] and parser.state is StreamState.EXPECT_START
    for token in enc.encode("<|start|>assistant<|channel|>final<|message|>ok<|end|>", allowed_special="all"):
        parser.process(token)
    assert len(parser.messages) == 1
    with pytest.raises(HarmonyError, match="Unexpected EOS while waiting for message header"):
        enc.parse_messages_from_completion_tokens(enc.encode("<|channel|>final", allowed_special="all"), Role.ASSISTANT)


def test_constrained_final_answer_has_no_recipient(enc: HarmonyEncoding) -> None:
    # The reference makes "<|constrain|>json" the recipient; we fix it in both modes.
    tokens = enc.encode('<|channel|>final <|constrain|>json<|message|>{"a": 1}<|return|>', allowed_special="all")
    for strict in (True, False):
        [msg] = enc.parse_messages_from_completion_tokens(tokens, Role.ASSISTANT, strict=strict)
        assert (msg.channel, msg.recipient, msg.content_type) == ("final", None, "<|constrain|>json")


@pytest.mark.parametrize("case", LENIENT_CASES, ids=names(LENIENT_CASES))
def test_lenient_fixtures(enc: HarmonyEncoding, case: Dict[str, Any]) -> None:
    tokens = enc.encode(case["completion"], allowed_special="all")
    parsed = enc.parse_completion(tokens, role_of(case), strict=False)
    assert parsed.messages == expected_messages(case)
    assert sorted({d.kind for d in parsed.diagnostics}) == case["diagnostics"]
    assert all(isinstance(d, Diagnostic) and 0 <= d.position <= len(tokens) for d in parsed.diagnostics)

    parser = StreamableParser(enc, role_of(case), strict=False)
    for token in tokens:
        parser.process(token)
    parser.process_eos()
    assert parser.messages == expected_messages(case)
    assert parser.diagnostics == parsed.diagnostics

    strict = case.get("strict")
    if strict == "same":
        assert enc.parse_messages_from_completion_tokens(tokens, role_of(case)) == expected_messages(case)
    elif strict is not None and strict.startswith("messages: "):
        count = int(strict.removeprefix("messages: "))
        strict_messages = enc.parse_messages_from_completion_tokens(tokens, role_of(case))
        assert strict_messages[: len(expected_messages(case))] == expected_messages(case)
        assert len(strict_messages) == count
    elif strict is not None:
        with pytest.raises(HarmonyError) as err:
            enc.parse_messages_from_completion_tokens(tokens, role_of(case))
        assert strict.removeprefix("error: ") in str(err.value)


def test_lenient_never_raises(enc: HarmonyEncoding) -> None:
    rng = random.Random(7)
    specials = [200006, 200008, 200007, 200002, 200012, 200005, 200003, 199999]
    words = [enc.encode(w) for w in ["assistant", " to=", "functions.f", "final", " ", "json", "é", "🚀"]]
    for _ in range(300):
        tokens: List[int] = []
        for _ in range(rng.randrange(0, 40)):
            pick = rng.random()
            if pick < 0.4:
                tokens.append(rng.choice(specials))
            elif pick < 0.9:
                tokens.extend(rng.choice(words))
            else:
                tokens.append(rng.randrange(0, 202_000))
        role = rng.choice([None, Role.ASSISTANT])
        enc.parse_messages_from_completion_tokens(tokens, role, strict=False)
        parser = StreamableParser(enc, role, strict=False)
        for token in tokens:
            parser.process(token)
        parser.process_eos()
