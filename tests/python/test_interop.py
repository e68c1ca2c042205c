"""openai_harmony.interop: the shared request fixtures, and every produced
dict validated against the official ``openai`` package's types."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Sequence

import pytest

from conftest import load_cases
from openai_harmony import HarmonyEncoding, HarmonyError, Message, Role
from openai_harmony.interop import (
    ChatCompletionStream,
    ResponsesStream,
    chat_completion_from_harmony,
    chat_completion_message_from_harmony,
    conversation_from_chat_completions,
    conversation_from_responses,
    prompt_for_chat_completions,
    prompt_for_responses,
    response_from_harmony,
    response_output_from_harmony,
)

openai_types = pytest.importorskip("openai.types")
from openai.types.chat import ChatCompletion, ChatCompletionChunk  # noqa: E402
from openai.types.responses import Response, ResponseOutputItem, ResponseStreamEvent  # noqa: E402
from pydantic import TypeAdapter  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[2] / "test-data" / "interop" / "requests.json"
CASES: List[Dict[str, Any]] = load_cases("interop/requests.json")
EVENT = TypeAdapter(ResponseStreamEvent)
ITEM = TypeAdapter(ResponseOutputItem)

WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get-weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_request_fixtures(enc: HarmonyEncoding, case: Dict[str, Any]) -> None:
    def run() -> List[int]:
        if case["api"] == "chat":
            return prompt_for_chat_completions(enc, case["request"], date=case["date"]).tokens
        return prompt_for_responses(enc, case["request"], case.get("previous_items"), date=case["date"]).tokens

    if "error" in case:
        with pytest.raises(HarmonyError) as info:
            run()
        assert case["error"] in str(info.value)
    else:
        assert enc.decode_utf8(run()) == case["prompt"]


def completion(enc: HarmonyEncoding, messages: Sequence[Message], last: int) -> List[int]:
    """The tokens a model samples for these messages after ``<|start|>assistant``."""
    tokens: List[int] = []
    for m in messages:
        tokens.extend(enc.render(m))
    tokens = tokens[2:]
    tokens[-1] = last
    return tokens


def analysis(text: str) -> Message:
    return Message.from_role_and_content(Role.ASSISTANT, text).with_channel("analysis")


def final(text: str) -> Message:
    return Message.from_role_and_content(Role.ASSISTANT, text).with_channel("final")


def call(name: str, args: str) -> Message:
    return (
        Message.from_role_and_content(Role.ASSISTANT, args)
        .with_channel("commentary")
        .with_recipient(f"functions.{name}")
        .with_content_type("<|constrain|>json")
    )


def test_chat_completion_validates(enc: HarmonyEncoding) -> None:
    request = {"model": "gpt-oss-20b", "tools": [WEATHER_TOOL], "messages": [{"role": "user", "content": "Hi"}]}
    answer = chat_completion_from_harmony([analysis("Greet."), final("Hello!")], request)
    parsed = ChatCompletion.model_validate(answer)
    assert parsed.choices[0].message.content == "Hello!"
    assert parsed.choices[0].finish_reason == "stop"
    assert parsed.model == "gpt-oss-20b"
    assert (parsed.choices[0].message.model_extra or {})["reasoning_content"] == "Greet."

    calls = chat_completion_from_harmony([call("get_weather", '{"city":"Oslo"}')], request)
    parsed = ChatCompletion.model_validate(calls)
    assert parsed.choices[0].finish_reason == "tool_calls"
    tool_calls = parsed.choices[0].message.tool_calls or []
    assert [(c.function.name, c.function.arguments) for c in tool_calls if c.type == "function"] == [
        ("get-weather", '{"city":"Oslo"}')
    ]


def test_chat_stream_chunks_validate(enc: HarmonyEncoding) -> None:
    request = {"tools": [WEATHER_TOOL], "messages": [{"role": "user", "content": "Paris and Rome?"}]}
    reply = [analysis("Two calls."), call("get_weather", '{"city":"Paris"}'), call("get_weather", '{"city":"Rome"}')]
    tokens = completion(enc, reply, 200012)
    # Two calls in one reply: the first closed by <|end|>, since the turn
    # ends at a <|call|> (what a model samples after it is ignored).
    first_call_end = tokens.index(200012)
    tokens[first_call_end] = 200007
    stream = ChatCompletionStream(enc, request, model="m")
    chunks = [ChatCompletionChunk.model_validate(c) for c in stream.stream(tokens)]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    reasoning = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content", "") for c in chunks)
    assert reasoning == "Two calls."
    calls: Dict[int, List[str]] = {}
    for chunk in chunks:
        for d in chunk.choices[0].delta.tool_calls or []:
            if d.id is not None:
                assert d.function is not None and d.function.name == "get-weather"
                calls[d.index] = [d.id, ""]
            elif d.function is not None and d.function.arguments:
                calls[d.index][1] += d.function.arguments
    assert [args for _, args in calls.values()] == ['{"city":"Paris"}', '{"city":"Rome"}']
    assert len({i for i, _ in calls.values()}) == 2
    assert [m.recipient for m in stream.messages] == [None, "functions.get_weather", "functions.get_weather"]


def test_chat_stream_ignores_what_follows_a_call(enc: HarmonyEncoding) -> None:
    """A server that did not stop at <|call|>: the made-up tool result and
    the answer built on it are not shown."""
    request = {"tools": [WEATHER_TOOL], "messages": [{"role": "user", "content": "Paris?"}]}
    text = (
        '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city":"Paris"}<|call|>'
        "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>Sunny<|end|>"
        "<|start|>assistant<|channel|>final<|message|>It is sunny.<|return|>"
    )
    stream = ChatCompletionStream(enc, request, model="m")
    chunks = list(stream.stream(enc.encode(text, allowed_special="all")))
    assert not any(c["choices"] and c["choices"][0]["delta"].get("content") for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert [d.kind for d in stream.diagnostics] == ["after_stop"]


def test_chat_stream_length_and_errors(enc: HarmonyEncoding) -> None:
    tokens = completion(enc, [final("A long answer that gets cut.")], 200002)
    stream = ChatCompletionStream(enc)
    chunks = stream.process_tokens(tokens[:5])
    assert stream.finish_reason == "length"
    chunks += stream.finish()
    assert ChatCompletionChunk.model_validate(chunks[-1]).choices[0].finish_reason == "length"
    with pytest.raises(ValueError, match="unknown finish reason"):
        ChatCompletionStream(enc).finish("done")  # type: ignore[arg-type]


def test_responses_validate(enc: HarmonyEncoding) -> None:
    request = {
        "model": "gpt-oss-120b",
        "input": "Weather?",
        "tools": [{"type": "function", "name": "get-weather", "parameters": {"type": "object"}, "strict": False}],
    }
    reply = [
        analysis("Search first."),
        Message.from_role_and_content(Role.ASSISTANT, '{"query": "weather"}')
        .with_channel("analysis")
        .with_recipient("browser.search"),
        Message.from_role_and_content(Role.ASSISTANT, "print(2)").with_channel("analysis").with_recipient("python"),
        call("get_weather", '{"city":"Oslo"}'),
        Message.from_role_and_content(Role.ASSISTANT, "Checking.").with_channel("commentary"),
        final("Sunny."),
    ]
    items = response_output_from_harmony(reply, request)
    for item in items:
        ITEM.validate_python(item)
    response = Response.model_validate(response_from_harmony(reply, request))
    assert [o.type for o in response.output] == [
        "reasoning",
        "web_search_call",
        "code_interpreter_call",
        "function_call",
        "message",
        "message",
    ]
    assert response.output_text == "Checking.Sunny."
    assert response.model == "gpt-oss-120b"
    fc = response.output[3]
    assert fc.type == "function_call" and fc.name == "get-weather" and fc.arguments == '{"city":"Oslo"}'


def test_responses_stream_events_validate(enc: HarmonyEncoding) -> None:
    request = {"input": "Weather?", "tools": [{"type": "function", "name": "get-weather"}]}
    tokens = completion(enc, [analysis("Call."), call("get_weather", '{"city":"Oslo"}')], 200012)
    events = list(ResponsesStream(enc, request).stream(tokens))
    parsed = [EVENT.validate_python(e) for e in events]
    assert [e.sequence_number for e in parsed] == list(range(len(parsed)))
    assert parsed[0].type == "response.created" and parsed[-1].type == "response.completed"
    types = [e.type for e in parsed]
    assert types.index("response.function_call_arguments.done") < types.index("response.completed")
    done = parsed[-1]
    assert done.type == "response.completed"
    assert [o.type for o in done.response.output] == ["reasoning", "function_call"]

    answer = completion(enc, [final("Sunny and warm.")], 200002)
    stream = ResponsesStream(enc, {"input": "Weather?"})
    events = stream.process_tokens(answer[:4]) + stream.finish()
    last = EVENT.validate_python(events[-1])
    assert last.type == "response.incomplete"
    assert any(e["type"] == "response.output_text.delta" for e in events)


def test_multi_turn_tool_loop_round_trip(enc: HarmonyEncoding) -> None:
    request: Dict[str, Any] = {"tools": [WEATHER_TOOL], "messages": [{"role": "user", "content": "Paris and Rome?"}]}
    reply = [analysis("Both."), call("get_weather", '{"city":"Paris"}'), call("get_weather", '{"city":"Rome"}')]
    message = chat_completion_message_from_harmony(reply, request)
    ids = [c["id"] for c in message["tool_calls"]]
    assert len(set(ids)) == 2
    request["messages"] += [
        message,
        {"role": "tool", "tool_call_id": ids[0], "content": "sun"},
        {"role": "tool", "tool_call_id": ids[1], "content": "rain"},
    ]
    convo = conversation_from_chat_completions(request, date="2026-11-21")
    tail = [(m.author.role, m.author.name, m.recipient, m.channel) for m in convo.messages[3:]]
    assert tail == [
        (Role.ASSISTANT, None, None, "analysis"),
        (Role.ASSISTANT, None, "functions.get_weather", "commentary"),
        (Role.ASSISTANT, None, "functions.get_weather", "commentary"),
        (Role.TOOL, "functions.get_weather", "assistant", "commentary"),
        (Role.TOOL, "functions.get_weather", "assistant", "commentary"),
    ]
    assert [m.content[0].text for m in convo.messages[4:]] == [  # type: ignore[union-attr]
        '{"city":"Paris"}',
        '{"city":"Rome"}',
        "sun",
        "rain",
    ]
    # The final answer closes the turn: its reasoning is dropped next time.
    request["messages"] += [{"role": "assistant", "content": "Sun and rain.", "reasoning_content": "Summarize."}]
    request["messages"] += [{"role": "user", "content": "Thanks"}]
    convo = conversation_from_chat_completions(request, date="2026-11-21")
    assert [m.channel for m in convo.messages if m.author.role == Role.ASSISTANT] == [
        "commentary",
        "commentary",
        "final",
    ]


def test_responses_previous_items_accept_openai_objects(enc: HarmonyEncoding) -> None:
    request = {"input": "Weather in Oslo?", "tools": [{"type": "function", "name": "get-weather"}]}
    response = Response.model_validate(response_from_harmony([call("get_weather", '{"city":"Oslo"}')], request))
    fc = response.output[0]
    assert fc.type == "function_call"
    previous: List[Any] = [{"role": "user", "content": "Weather in Oslo?"}, *response.output]
    follow = {"input": [{"type": "function_call_output", "call_id": fc.call_id, "output": "snow"}]}
    convo = conversation_from_responses(follow, previous, date="2026-11-21")
    assert convo.messages[-1].author.name == "functions.get_weather"
    assert convo.messages[-2].recipient == "functions.get_weather"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"messages": [{"role": "wizard", "content": "x"}]}, 'unknown role "wizard"'),
        ({"messages": [{"role": "tool", "tool_call_id": "x", "content": "1"}]}, "matches no earlier tool call"),
        (
            {
                "messages": [
                    {"role": "assistant", "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{"}}]}
                ]
            },
            "is not valid JSON",
        ),
        ({"messages": "hello"}, "messages must be an array"),
    ],
)
def test_bad_requests_raise(request_: Dict[str, Any], message: str) -> None:
    with pytest.raises(HarmonyError, match="invalid request") as info:
        conversation_from_chat_completions(request_)
    assert message in str(info.value)
