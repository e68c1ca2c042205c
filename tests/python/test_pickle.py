"""Pickling and copying: the encoding (by name), the streaming parser (its
full state, resumed identically, also in another process), every model and
HarmonyError, as multiprocessing, datasets, Ray and Spark workers need."""

from __future__ import annotations

import copy
import multiprocessing
import pickle
import random
from typing import Any, Dict, List, Tuple

import pytest

from openai_harmony import (
    Author,
    ChannelConfig,
    ContentDelta,
    Conversation,
    DeveloperContent,
    Diagnostic,
    HarmonyEncoding,
    HarmonyError,
    Message,
    MessageCompleted,
    MessageSpan,
    MessageStarted,
    ParsedCompletion,
    ReasoningEffort,
    RenderConversationConfig,
    RenderOptions,
    ResponseFormat,
    Role,
    StreamableParser,
    StreamState,
    SystemContent,
    TextContent,
    ToolDescription,
    ToolNamespaceConfig,
    load_harmony_encoding,
)


def observe(p: StreamableParser) -> Dict[str, Any]:
    """Everything a caller can read off a parser."""
    return {
        "tokens": list(p.tokens),
        "messages": p.messages,
        "state": p.state,
        "role": p.current_role,
        "channel": p.current_channel,
        "recipient": p.current_recipient,
        "content_type": p.current_content_type,
        "content": p.current_content,
        "delta": p.last_content_delta,
        "diagnostics": p.diagnostics,
        "state_data": p.state_data,
    }


COMPLETIONS = [
    "<|channel|>analysis<|message|>Think ✓.<|end|><|start|>assistant<|channel|>final<|message|>Done 東京.<|return|>",
    '<|channel|>commentary to=functions.f <|constrain|>json<|message|>{"a": 1}<|call|>',
    # Malformed: the strict parser errors (and goes on), the lenient one repairs.
    "<|channel|>final {oops<|return|><|start|>assistant<|channel|>final<|message|>x<|end|>",
    "<|start|><|start|>assistant<|channel|>analysis<|message|>a<|end|>junk<|start|>assistant<|message|>b",
]


def feed(p: StreamableParser, token: int) -> str:
    try:
        p.process(token)
        return "ok"
    except HarmonyError as e:
        return f"error: {e}"


@pytest.mark.parametrize("strict", [True, False])
def test_parser_resumes_identically_after_pickle(enc: HarmonyEncoding, strict: bool) -> None:
    rng = random.Random(5)
    for text in COMPLETIONS:
        tokens = enc.encode(text, allowed_special="all")
        for cut in sorted({0, len(tokens), *(rng.randrange(len(tokens) + 1) for _ in range(4))}):
            original = StreamableParser(enc, Role.ASSISTANT, strict=strict)
            for t in tokens[:cut]:
                feed(original, t)
            if cut % 2:
                original.drain_events()
            restored = pickle.loads(pickle.dumps(original))
            assert type(restored) is StreamableParser
            assert observe(restored) == observe(original), (text, cut)
            assert restored.drain_events() == original.drain_events()
            for t in tokens[cut:]:
                assert feed(restored, t) == feed(original, t)
                assert observe(restored) == observe(original), (text, cut)
            ends = [feed_eos(p) for p in (original, restored)]
            assert ends[0] == ends[1] and observe(restored) == observe(original)
            # Ended streams pickle too, with where they were ended.
            again = pickle.loads(pickle.dumps(original))
            assert observe(again) == observe(original)


def feed_eos(p: StreamableParser) -> str:
    try:
        p.process_eos()
        return "ok"
    except HarmonyError as e:
        return f"error: {e}"


class Tagged(StreamableParser):
    """A subclass with its own attributes and signature."""

    def __init__(self, encoding: HarmonyEncoding, tag: str) -> None:
        super().__init__(encoding, Role.ASSISTANT)
        self.tag = tag


def test_subclass_and_copies(enc: HarmonyEncoding) -> None:
    p = Tagged(enc, "request-7")
    for t in enc.encode("<|channel|>final<|message|>Hel", allowed_special="all"):
        p.process(t)
    for q in (pickle.loads(pickle.dumps(p)), copy.deepcopy(p), copy.copy(p)):
        assert type(q) is Tagged and q.tag == "request-7" and q.current_content == "Hel"
        q.process(enc.encode("lo", allowed_special="all")[0])
        assert p.current_content == "Hel"  # independent of the original
    assert len(pickle.dumps(enc)) < 200


def resume_elsewhere(args: Tuple[bytes, List[int]]) -> Tuple[List[Message], List[int], str]:
    parser = pickle.loads(args[0])
    for t in args[1]:
        parser.process(t)
    return parser.messages, list(parser.tokens), parser.encoding.name


def test_parser_resumes_in_another_process(enc: HarmonyEncoding) -> None:
    tokens = enc.encode(COMPLETIONS[0], allowed_special="all")
    half = len(tokens) // 2
    p = StreamableParser(enc, Role.ASSISTANT)
    for t in tokens[:half]:
        p.process(t)
    whole = StreamableParser(enc, Role.ASSISTANT)
    for t in tokens:
        whole.process(t)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        messages, seen, name = pool.apply(resume_elsewhere, ((pickle.dumps(p), tokens[half:]),))
    assert messages == whole.messages and seen == tokens and name == enc.name


def render_elsewhere(args: Tuple[HarmonyEncoding, Conversation]) -> List[int]:
    encoding, convo = args
    return encoding.render_conversation(convo)


def test_encoding_and_conversation_in_another_process(enc: HarmonyEncoding) -> None:
    convo = Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, SystemContent.new().with_browser_tool()),
            Message.from_role_and_content(Role.USER, "Hi"),
        ]
    )
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(render_elsewhere, ((enc, convo),)) == enc.render_conversation(convo)


def test_the_encoding_pickles_by_name(enc: HarmonyEncoding) -> None:
    restored = pickle.loads(pickle.dumps(enc))
    assert restored.name == enc.name and restored.encode("héllo") == enc.encode("héllo")
    assert copy.deepcopy(enc) is enc and copy.copy(enc).name == enc.name
    assert pickle.loads(pickle.dumps(load_harmony_encoding("HarmonyGptOss"))).name == "HarmonyGptOss"


def test_every_model_pickles_and_copies() -> None:
    tool = ToolDescription.new("f", "A tool.", parameters={"type": "object", "properties": {"a": {"type": "integer"}}})
    system = (
        SystemContent.new()
        .with_reasoning_effort(ReasoningEffort.HIGH)
        .with_browser_tool()
        .with_channel_config(ChannelConfig.require_channels(["analysis", "final"]))
    )
    developer = (
        DeveloperContent.new()
        .with_instructions("Be brief.")
        .with_function_tools([tool])
        .with_response_format(ResponseFormat(name="r", schema_={"type": "object"}))
    )
    message = (
        Message.from_author_and_content(Author.new(Role.TOOL, "functions.f"), "ok")
        .with_channel("commentary")
        .with_recipient("assistant")
    )
    values: List[Any] = [
        Role.ASSISTANT,
        ReasoningEffort.LOW,
        Author.new(Role.USER, "me"),
        TextContent(text="hi"),
        tool,
        ToolNamespaceConfig(name="functions", description=None, tools=[tool]),
        ChannelConfig.require_channels(["final"]),
        system,
        developer,
        message,
        Conversation.from_messages([Message.from_role_and_content(Role.SYSTEM, system), message]),
        RenderConversationConfig(auto_drop_analysis=False),
        RenderOptions(conversation_has_function_tools=True),
        MessageSpan(0, Role.USER, None, 0, 5),
        Diagnostic(3, "repeated_start", "a <|start|> was repeated"),
        ParsedCompletion(messages=[message], diagnostics=[]),
        MessageStarted(0, Role.ASSISTANT, None, "final", None, None),
        ContentDelta(0, "x"),
        MessageCompleted(0, message),
        StreamState.CONTENT,
    ]
    for value in values:
        assert pickle.loads(pickle.dumps(value)) == value, value
        assert copy.deepcopy(value) == value, value


def test_harmony_error_pickles(enc: HarmonyEncoding) -> None:
    with pytest.raises(HarmonyError) as caught:
        enc.decode_utf8([99_999_999])
    error = caught.value
    for copied in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error)):
        assert type(copied) is HarmonyError and str(copied) == str(error)
