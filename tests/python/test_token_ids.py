"""Token ids no u32 holds (-1, 2**32, 2**64, numpy's int64(-1)) are no
OverflowError anywhere: decoding and strict parsing raise the reference's
unknown-id HarmonyError naming the id; lenient parsing, which never raises
on a token sequence, skips them with an ``invalid_token`` diagnostic."""

from __future__ import annotations

from typing import Any, List

import pytest

from openai_harmony import HarmonyEncoding, HarmonyError, StreamableParser, interop

BAD = [-1, 2**32, 2**64, -(2**70)]


def completion(enc: HarmonyEncoding, bad: int) -> List[int]:
    return [200006, *enc.encode("assistant"), 200005, *enc.encode("final"), 200008, bad, *enc.encode("hi"), 200002]


@pytest.mark.parametrize("bad", BAD)
def test_decoding_names_the_id(enc: HarmonyEncoding, bad: int) -> None:
    for decode in (enc.decode, enc.decode_bytes, enc.decode_utf8):
        with pytest.raises(HarmonyError, match=f"Invalid token for decoding: {bad}$"):
            decode([1, bad])
    assert enc.is_special_token(bad) is False


@pytest.mark.parametrize("bad", BAD)
def test_strict_parsing_names_the_id(enc: HarmonyEncoding, bad: int) -> None:
    tokens = completion(enc, bad)
    message = f"Invalid token for decoding: {bad}$"
    with pytest.raises(HarmonyError, match=message):
        enc.parse_messages_from_completion_tokens(tokens)
    with pytest.raises(HarmonyError, match="completion 1: .*" + message):
        enc.parse_batch([completion(enc, 3686), tokens])
    parser = StreamableParser(enc, None)
    with pytest.raises(HarmonyError, match=message):
        for t in tokens:
            parser.process(t)
    # The parser is unchanged by the refused id and goes on.
    for t in tokens[tokens.index(bad) + 1 :]:
        parser.process(t)
    assert parser.messages[0].content[0].text == "hi"  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", BAD)
def test_lenient_parsing_skips_the_id(enc: HarmonyEncoding, bad: int) -> None:
    tokens = completion(enc, bad)
    at = tokens.index(bad)
    parsed = enc.parse_completion(tokens, strict=False)
    assert [m.content[0].text for m in parsed.messages] == ["hi"]  # type: ignore[union-attr]
    assert [(d.position, d.kind, d.detail) for d in parsed.diagnostics] == [
        (at, "invalid_token", f"unknown token id {bad} skipped")
    ]
    assert enc.parse_batch([tokens], strict=False)[0] == parsed.messages
    parser = StreamableParser(enc, None, strict=False)
    for t in tokens:
        parser.process(t)
    assert parser.messages == parsed.messages and parser.diagnostics == parsed.diagnostics
    assert len(parser.tokens) == len(tokens)  # the skipped id keeps its position

    # The interop streams read a reply whose <|start|>assistant the prompt wrote.
    reply = tokens[1 + len(enc.encode("assistant")) :]
    stream = interop.ChatCompletionStream(enc)
    chunks: List[Any] = []
    for t in reply:
        chunks += stream.process(t)
    chunks += stream.finish()
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "hi"
    assert [d.detail for d in stream.diagnostics] == [f"unknown token id {bad} skipped"]
    responses = interop.ResponsesStream(enc)
    events = responses.process_tokens(reply) + responses.finish()
    assert [d.detail for d in responses.diagnostics] == [f"unknown token id {bad} skipped"]
    assert events[-1]["type"] == "response.completed"


def test_numpy_ints_too(enc: HarmonyEncoding) -> None:
    np = pytest.importorskip("numpy")
    with pytest.raises(HarmonyError, match=r"Invalid token for decoding: -1$"):
        enc.decode([np.int64(-1)])
    assert enc.decode([np.int64(3686)]) == "hi"
