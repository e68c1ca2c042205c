"""The OpenAI-compatible server, ``openai_harmony.server``, driven by the official ``openai`` client.

A ``ReplayGenerator`` stands in for the model: it replays completions
recorded by rendering harmony messages with the library, and records the
prompt, stop tokens and token budget it was called with.
"""

from __future__ import annotations

import importlib
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Sequence, Tuple, cast

import pytest
from pydantic import TypeAdapter

from conftest import started_harmony
from openai_harmony import HarmonyEncoding, Message, Role
from openai_harmony.interop import prompt_for_chat_completions, prompt_for_responses

pytest.importorskip("openai")

import openai
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
    ChatCompletionToolMessageParam,
)
from openai.types.responses import (
    FunctionToolParam,
    Response,
    ResponseCompletedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionToolCall,
    ResponseIncompleteEvent,
    ResponseInputItemParam,
    ResponseInputParam,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseReasoningItem,
    ResponseReasoningTextDeltaEvent,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
)

harmony_server: ModuleType = importlib.import_module("openai_harmony.server")

MODEL = "gpt-oss-test"
START, END, RETURN, CALL = 200006, 200007, 200002, 200012

WEATHER_PARAMETERS: Dict[str, object] = {
    "type": "object",
    "properties": {"location": {"type": "string"}},
    "required": ["location"],
}
CHAT_TOOLS: List[ChatCompletionFunctionToolParam] = [
    {
        "type": "function",
        "function": {"name": "get-weather", "description": "Current weather", "parameters": WEATHER_PARAMETERS},
    },
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
]
RESPONSES_TOOLS: List[FunctionToolParam] = [
    {
        "type": "function",
        "name": "get-weather",
        "description": "Current weather",
        "parameters": WEATHER_PARAMETERS,
        "strict": False,
    },
]


# --- recordings -------------------------------------------------------------------


def reasoning(enc: HarmonyEncoding, text: str) -> List[int]:
    tokens = enc.render(Message.from_role_and_content(Role.ASSISTANT, text).with_channel("analysis"))
    assert tokens[-1] == END
    return tokens


def final_answer(enc: HarmonyEncoding, text: str) -> List[int]:
    """A final message, ending in ``<|return|>`` as the model ends its turn."""
    tokens = enc.render(Message.from_role_and_content(Role.ASSISTANT, text).with_channel("final"))
    assert tokens[-1] == END
    return [*tokens[:-1], RETURN]


def tool_call(enc: HarmonyEncoding, function: str, arguments: Dict[str, Any], *, last: bool = True) -> List[int]:
    """A call to ``functions.<function>``, ending in ``<|call|>`` (``<|end|>``
    when another call of the same turn follows)."""
    message = (
        Message.from_role_and_content(Role.ASSISTANT, json.dumps(arguments))
        .with_channel("commentary")
        .with_recipient(f"functions.{function}")
        .with_content_type("<|constrain|>json")
    )
    tokens = enc.render(message)
    assert tokens[-1] == CALL
    return tokens if last else [*tokens[:-1], END]


def completion(enc: HarmonyEncoding, *parts: List[int]) -> List[int]:
    """The completion the model samples after the prompt's ``<|start|>assistant``."""
    tokens = [token for part in parts for token in part]
    assert tokens[0] == START
    assert enc.decode_utf8(tokens[:2]) == "<|start|>assistant"
    return tokens[2:]


@dataclass
class GeneratorCall:
    prompt_tokens: List[int]
    stop_tokens: List[int]
    max_tokens: Optional[int]
    consumed: int = 0


class ReplayGenerator:
    """Replays queued completions, one per call, in order."""

    def __init__(self) -> None:
        self._recordings: Deque[List[int]] = deque()
        self._lock = threading.Lock()
        self.calls: List[GeneratorCall] = []

    def queue(self, *recordings: List[int]) -> None:
        with self._lock:
            self._recordings.extend(recordings)

    def __call__(self, prompt_tokens: List[int], stop_tokens: List[int], max_tokens: Optional[int]) -> Iterator[int]:
        with self._lock:
            assert self._recordings, "the server called the generator more often than recorded"
            recording = self._recordings.popleft()
            call = GeneratorCall(list(prompt_tokens), list(stop_tokens), max_tokens)
            self.calls.append(call)
        return self._replay(recording, call)

    @staticmethod
    def _replay(recording: List[int], call: GeneratorCall) -> Iterator[int]:
        for token in recording:
            call.consumed += 1
            yield token


@dataclass
class Harness:
    enc: HarmonyEncoding
    generator: ReplayGenerator
    client: openai.OpenAI
    base_url: str

    @property
    def prompt(self) -> List[int]:
        assert self.generator.calls
        return self.generator.calls[-1].prompt_tokens

    def prompt_text(self) -> str:
        return self.enc.decode_utf8(self.prompt)


@pytest.fixture
def harness(enc: HarmonyEncoding) -> Iterator[Harness]:
    generator = ReplayGenerator()
    server = harmony_server.make_server(generator, "127.0.0.1", 0, MODEL, encoding=enc)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    port = int(server.server_address[1])
    base_url = f"http://127.0.0.1:{port}/v1"
    client = openai.OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=30)
    try:
        yield Harness(enc, generator, client, base_url)
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def same_day_prompt(compute: Callable[[], List[int]], run: Callable[[], object]) -> Tuple[List[int], List[int]]:
    """The library's prompt computed before and after ``run`` (the server puts
    today's date in the system message; a request may straddle midnight)."""
    before = compute()
    run()
    return before, compute()


# --- helpers over client objects ------------------------------------------------


def reasoning_content(obj: Any) -> Optional[str]:
    extra: Dict[str, Any] = obj.model_extra or {}
    value = extra.get("reasoning_content", getattr(obj, "reasoning_content", None))
    assert value is None or isinstance(value, str)
    return value


def function_calls(completion: ChatCompletion) -> List[ChatCompletionMessageFunctionToolCall]:
    calls = completion.choices[0].message.tool_calls or []
    out = []
    for call in calls:
        assert isinstance(call, ChatCompletionMessageFunctionToolCall)
        out.append(call)
    return out


@dataclass
class StreamedToolCall:
    id: str
    name: str
    arguments: str


@dataclass
class ChatStream:
    chunks: List[ChatCompletionChunk]
    content: str
    reasoning: str
    tool_calls: List[StreamedToolCall]
    finish_reason: Optional[str]


def collect_chat_stream(chunks: Sequence[ChatCompletionChunk]) -> ChatStream:
    content, reasoning_text = "", ""
    calls: Dict[int, StreamedToolCall] = {}
    finish: Optional[str] = None
    for position, chunk in enumerate(chunks):
        assert chunk.object == "chat.completion.chunk"
        assert chunk.id == chunks[0].id
        assert chunk.model == MODEL
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        assert finish is None, "a chunk after the finish chunk"
        if position == 0:
            assert choice.delta.role == "assistant"
        content += choice.delta.content or ""
        reasoning_text += reasoning_content(choice.delta) or ""
        for delta in choice.delta.tool_calls or []:
            if delta.index not in calls:
                # The first delta of a call carries its id and name.
                assert delta.id and delta.function and delta.function.name
                assert delta.index == len(calls)
                calls[delta.index] = StreamedToolCall(delta.id, delta.function.name, "")
            else:
                assert delta.id is None
            if delta.function and delta.function.arguments:
                calls[delta.index].arguments += delta.function.arguments
        finish = choice.finish_reason
    return ChatStream(list(chunks), content, reasoning_text, [calls[i] for i in sorted(calls)], finish)


def collapse_deltas(types: Sequence[str]) -> List[str]:
    """Event types with runs of the same ``.delta`` event shown once."""
    out: List[str] = []
    for kind in types:
        if not (out and out[-1] == kind and kind.endswith(".delta")):
            out.append(kind)
    return out


def check_sequence_numbers(events: Sequence[ResponseStreamEvent]) -> None:
    assert [event.sequence_number for event in events] == list(range(len(events)))


REASONING_EVENTS = [
    "response.output_item.added",
    "response.content_part.added",
    "response.reasoning_text.delta",
    "response.reasoning_text.done",
    "response.content_part.done",
    "response.output_item.done",
]
MESSAGE_EVENTS = [
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
]
FUNCTION_CALL_EVENTS = [
    "response.output_item.added",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
]
START_EVENTS = ["response.created", "response.in_progress"]


def response_function_calls(response: Response) -> List[ResponseFunctionToolCall]:
    return [item for item in response.output if isinstance(item, ResponseFunctionToolCall)]


def reasoning_texts(response: Response) -> List[str]:
    texts = []
    for item in response.output:
        if isinstance(item, ResponseReasoningItem):
            texts.append("".join(part.text for part in item.content or []))
    return texts


def final_response(events: Sequence[ResponseStreamEvent]) -> Response:
    last = events[-1]
    assert isinstance(last, (ResponseCompletedEvent, ResponseIncompleteEvent))
    return last.response


def as_input_items(response: Response) -> List[ResponseInputItemParam]:
    """A response's output items, sent back as input items."""
    return [cast(ResponseInputItemParam, item.model_dump(mode="json", exclude_none=True)) for item in response.output]


# --- the HTTP surface -------------------------------------------------------------


def test_models(harness: Harness) -> None:
    models = harness.client.models.list()
    assert [model.id for model in models.data] == [MODEL]


def post_raw(url: str, body: bytes) -> Tuple[int, Dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return int(reply.status), json.loads(reply.read())
    except urllib.error.HTTPError as error:
        payload: Dict[str, Any] = json.loads(error.read())
        return int(error.code), payload


def test_bad_json_is_400(harness: Harness) -> None:
    for path in ("/chat/completions", "/responses"):
        status, body = post_raw(harness.base_url + path, b'{"model": ')
        assert status == 400
        assert body["error"]["type"] == "invalid_request_error"
        assert body["error"]["message"]
    status, body = post_raw(harness.base_url + "/chat/completions", b"[1, 2]")
    assert status == 400
    assert harness.generator.calls == []


def test_unknown_path_is_404(harness: Harness) -> None:
    status, body = post_raw(harness.base_url + "/completions", b"{}")
    assert status == 404
    assert "error" in body
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(harness.base_url + "/nothing", timeout=30)
    assert info.value.code == 404
    info.value.close()
    with pytest.raises(openai.NotFoundError):
        harness.client.completions.create(model=MODEL, prompt="hi")


def test_sse_framing(harness: Harness, enc: HarmonyEncoding) -> None:
    """Chat chunks are ``data:`` lines ending with ``[DONE]``; Responses events
    carry their type in an ``event:`` line."""
    answer = completion(enc, final_answer(enc, "Hi there."))
    harness.generator.queue(answer, answer)
    chat = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    request = urllib.request.Request(
        harness.base_url + "/chat/completions", data=json.dumps(chat).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.headers["Content-Type"].startswith("text/event-stream")
        text = reply.read().decode()
    blocks = text.split("\n\n")
    assert blocks[-1] == ""
    assert blocks[-2] == "data: [DONE]"
    assert all(block.startswith("data: {") for block in blocks[:-2])

    responses = {"model": MODEL, "stream": True, "input": "Hi"}
    request = urllib.request.Request(
        harness.base_url + "/responses", data=json.dumps(responses).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.headers["Content-Type"].startswith("text/event-stream")
        text = reply.read().decode()
    blocks = [block for block in text.split("\n\n") if block]
    for block in blocks:
        event_line, data_line = block.split("\n")
        assert event_line.startswith("event: ")
        assert data_line.startswith("data: ")
        assert json.loads(data_line[len("data: ") :])["type"] == event_line[len("event: ") :]
    assert blocks[-1].startswith("event: response.completed")


# --- (a) reasoning, then a final answer ---------------------------------------------


def test_chat_final_answer(harness: Harness, enc: HarmonyEncoding) -> None:
    recording = completion(
        enc, reasoning(enc, "The user greets me. I should greet back."), final_answer(enc, "Hello! How can I help?")
    )
    junk = enc.encode("tokens after the stop token")
    harness.generator.queue([*recording, *junk])
    messages: List[ChatCompletionMessageParam] = [{"role": "user", "content": "Hello"}]
    request = {"model": MODEL, "messages": messages}

    reply: List[ChatCompletion] = []
    before, after = same_day_prompt(
        lambda: prompt_for_chat_completions(enc, request).tokens,
        lambda: reply.append(harness.client.chat.completions.create(model=MODEL, messages=messages)),
    )
    result = reply[0]
    call = harness.generator.calls[0]
    assert call.prompt_tokens in (before, after)
    assert sorted(call.stop_tokens) == [RETURN, CALL]
    assert call.max_tokens is None
    assert call.consumed == len(recording), "the server reads past the stop token"

    assert result.object == "chat.completion"
    assert result.model == MODEL
    choice = result.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hello! How can I help?"
    assert reasoning_content(choice.message) == "The user greets me. I should greet back."
    assert not choice.message.tool_calls
    assert result.usage is not None
    assert result.usage.prompt_tokens == len(call.prompt_tokens)
    assert result.usage.completion_tokens == len(recording)
    assert result.usage.total_tokens == len(call.prompt_tokens) + len(recording)


def test_chat_final_answer_stream(harness: Harness, enc: HarmonyEncoding) -> None:
    recording = completion(
        enc, reasoning(enc, "The user greets me. I should greet back."), final_answer(enc, "Hello! How can I help?")
    )
    harness.generator.queue([*recording, *enc.encode("junk")])
    stream = harness.client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hello"}], stream=True
    )
    result = collect_chat_stream(list(stream))
    assert result.reasoning == "The user greets me. I should greet back."
    assert result.content == "Hello! How can I help?"
    assert result.tool_calls == []
    assert result.finish_reason == "stop"
    assert len(result.chunks) > 4, "one chunk per token or so, not one at the end"
    # Reasoning deltas come first, in their own chunks, before any content.
    kinds = [
        "reasoning" if reasoning_content(c.choices[0].delta) else "content" if c.choices[0].delta.content else None
        for c in result.chunks
    ]
    seen = [kind for kind in kinds if kind]
    assert seen == sorted(seen, key=lambda kind: kind != "reasoning")
    assert harness.generator.calls[0].consumed == len(recording)


def test_chat_stream_usage(harness: Harness, enc: HarmonyEncoding) -> None:
    recording = completion(enc, final_answer(enc, "Hi."))
    harness.generator.queue(recording)
    stream = harness.client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(recording)
    assert chunks[-1].usage.prompt_tokens == len(harness.prompt)
    assert collect_chat_stream(chunks).content == "Hi."


def test_responses_final_answer(harness: Harness, enc: HarmonyEncoding) -> None:
    recording = completion(
        enc, reasoning(enc, "A greeting; answer briefly."), final_answer(enc, "Hello! How can I help?")
    )
    harness.generator.queue(recording)
    request = {"model": MODEL, "input": "Hello", "instructions": "Be brief."}

    reply: List[Response] = []
    before, after = same_day_prompt(
        lambda: prompt_for_responses(enc, request).tokens,
        lambda: reply.append(harness.client.responses.create(model=MODEL, input="Hello", instructions="Be brief.")),
    )
    response = reply[0]
    assert harness.prompt in (before, after)
    assert "Be brief." in harness.prompt_text()
    assert response.status == "completed"
    assert response.model == MODEL
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert reasoning_texts(response) == ["A greeting; answer briefly."]
    assert response.output_text == "Hello! How can I help?"
    message = response.output[1]
    assert isinstance(message, ResponseOutputMessage)
    assert message.role == "assistant"
    assert response.usage is not None
    assert response.usage.output_tokens == len(recording)
    assert response.usage.input_tokens == len(harness.prompt)
    assert 0 < response.usage.output_tokens_details.reasoning_tokens < len(recording)


def test_responses_final_answer_stream(harness: Harness, enc: HarmonyEncoding) -> None:
    recording = completion(
        enc, reasoning(enc, "A greeting; answer briefly."), final_answer(enc, "Hello! How can I help?")
    )
    harness.generator.queue(recording)
    events = list(harness.client.responses.create(model=MODEL, input="Hello", stream=True))
    check_sequence_numbers(events)
    types = [event.type for event in events]
    assert collapse_deltas(types) == [*START_EVENTS, *REASONING_EVENTS, *MESSAGE_EVENTS, "response.completed"]
    text = "".join(e.delta for e in events if isinstance(e, ResponseTextDeltaEvent))
    thought = "".join(e.delta for e in events if isinstance(e, ResponseReasoningTextDeltaEvent))
    assert text == "Hello! How can I help?"
    assert thought == "A greeting; answer briefly."
    assert types.count("response.output_text.delta") > 1

    added = [e.item for e in events if isinstance(e, ResponseOutputItemAddedEvent)]
    done = [e.item for e in events if isinstance(e, ResponseOutputItemDoneEvent)]
    assert [item.type for item in added] == ["reasoning", "message"]
    assert [item.id for item in added] == [item.id for item in done]

    response = final_response(events)
    assert response.status == "completed"
    assert response.output_text == "Hello! How can I help?"
    assert [item.type for item in response.output] == ["reasoning", "message"]
    created = events[0]
    assert created.type == "response.created"
    assert created.response.id == response.id
    assert created.response.status == "in_progress"


# --- (b) reasoning, then a tool call -------------------------------------------------


def weather_call_recording(enc: HarmonyEncoding, location: str = "Tokyo") -> List[int]:
    return completion(
        enc,
        reasoning(enc, "I need the weather. Call the tool."),
        tool_call(enc, "get_weather", {"location": location}),
    )


def test_chat_tool_call(harness: Harness, enc: HarmonyEncoding) -> None:
    harness.generator.queue(weather_call_recording(enc))
    messages: List[ChatCompletionMessageParam] = [{"role": "user", "content": "Weather in Tokyo?"}]
    request = {"model": MODEL, "messages": messages, "tools": CHAT_TOOLS}
    reply: List[ChatCompletion] = []
    before, after = same_day_prompt(
        lambda: prompt_for_chat_completions(enc, request).tokens,
        lambda: reply.append(harness.client.chat.completions.create(model=MODEL, messages=messages, tools=CHAT_TOOLS)),
    )
    assert harness.prompt in (before, after)
    # The prompt declares the sanitized name; the client sees the original.
    prompt_text = harness.prompt_text()
    assert "type get_weather = " in prompt_text
    assert "get-weather" not in prompt_text
    assert "type get_time = " in prompt_text

    choice = reply[0].choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert reasoning_content(choice.message) == "I need the weather. Call the tool."
    calls = function_calls(reply[0])
    assert len(calls) == 1
    assert calls[0].type == "function"
    assert calls[0].function.name == "get-weather"
    assert json.loads(calls[0].function.arguments) == {"location": "Tokyo"}
    assert calls[0].id.startswith("call_")


def test_chat_tool_call_stream(harness: Harness, enc: HarmonyEncoding) -> None:
    harness.generator.queue(weather_call_recording(enc))
    stream = harness.client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Weather in Tokyo?"}], tools=CHAT_TOOLS, stream=True
    )
    result = collect_chat_stream(list(stream))
    assert result.finish_reason == "tool_calls"
    assert result.content == ""
    assert result.reasoning == "I need the weather. Call the tool."
    assert len(result.tool_calls) == 1
    assert result.tool_calls[0].name == "get-weather"
    assert result.tool_calls[0].id.startswith("call_")
    assert json.loads(result.tool_calls[0].arguments) == {"location": "Tokyo"}


def test_responses_tool_call(harness: Harness, enc: HarmonyEncoding) -> None:
    harness.generator.queue(weather_call_recording(enc))
    response = harness.client.responses.create(model=MODEL, input="Weather in Tokyo?", tools=RESPONSES_TOOLS)
    assert "type get_weather = " in harness.prompt_text()
    assert "get-weather" not in harness.prompt_text()
    assert response.status == "completed"
    assert [item.type for item in response.output] == ["reasoning", "function_call"]
    (call,) = response_function_calls(response)
    assert call.name == "get-weather"
    assert json.loads(call.arguments) == {"location": "Tokyo"}
    assert call.call_id
    assert reasoning_texts(response) == ["I need the weather. Call the tool."]


def test_responses_tool_call_stream(harness: Harness, enc: HarmonyEncoding) -> None:
    harness.generator.queue(weather_call_recording(enc))
    events = list(
        harness.client.responses.create(model=MODEL, input="Weather in Tokyo?", tools=RESPONSES_TOOLS, stream=True)
    )
    check_sequence_numbers(events)
    assert collapse_deltas([e.type for e in events]) == [
        *START_EVENTS,
        *REASONING_EVENTS,
        *FUNCTION_CALL_EVENTS,
        "response.completed",
    ]
    arguments = "".join(e.delta for e in events if isinstance(e, ResponseFunctionCallArgumentsDeltaEvent))
    assert json.loads(arguments) == {"location": "Tokyo"}
    added = [e.item for e in events if isinstance(e, ResponseOutputItemAddedEvent)]
    assert isinstance(added[1], ResponseFunctionToolCall)
    assert added[1].name == "get-weather"
    (call,) = response_function_calls(final_response(events))
    assert call.name == "get-weather"
    assert call.call_id == added[1].call_id
    assert call.arguments == arguments


# --- (c) a tool loop over two requests -------------------------------------------------


@pytest.mark.parametrize("stream_first", [False, True], ids=["first-whole", "first-streamed"])
def test_chat_tool_loop(harness: Harness, enc: HarmonyEncoding, stream_first: bool) -> None:
    harness.generator.queue(
        weather_call_recording(enc),
        completion(enc, reasoning(enc, "The tool says sunny."), final_answer(enc, "It is sunny in Tokyo.")),
    )
    messages: List[ChatCompletionMessageParam] = [{"role": "user", "content": "Weather in Tokyo?"}]
    if stream_first:
        streamed = collect_chat_stream(
            list(harness.client.chat.completions.create(model=MODEL, messages=messages, tools=CHAT_TOOLS, stream=True))
        )
        calls = [(c.id, c.name, c.arguments) for c in streamed.tool_calls]
    else:
        first = harness.client.chat.completions.create(model=MODEL, messages=messages, tools=CHAT_TOOLS)
        calls = [(c.id, c.function.name, c.function.arguments) for c in function_calls(first)]
    assert [name for _, name, _ in calls] == ["get-weather"]
    call_id, name, arguments = calls[0]

    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}],
        },
        {"role": "tool", "tool_call_id": call_id, "content": '{"sky": "sunny", "celsius": 21}'},
    ]
    request = {"model": MODEL, "messages": messages, "tools": CHAT_TOOLS}
    reply: List[ChatCompletion] = []
    before, after = same_day_prompt(
        lambda: prompt_for_chat_completions(enc, request).tokens,
        lambda: reply.append(harness.client.chat.completions.create(model=MODEL, messages=messages, tools=CHAT_TOOLS)),
    )
    assert harness.prompt in (before, after)
    text = harness.prompt_text()
    assert (
        'to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{"location": "Tokyo"}<|call|>'
        in (text)
    )
    assert '<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>{"sky": "sunny"' in text
    assert "get-weather" not in text

    choice = reply[0].choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.content == "It is sunny in Tokyo."
    assert reasoning_content(choice.message) == "The tool says sunny."


def test_responses_tool_loop(harness: Harness, enc: HarmonyEncoding) -> None:
    """The tool result goes back by ``previous_response_id`` and, in a second
    conversation, with every earlier item in ``input``: the same prompt."""
    answer = completion(enc, final_answer(enc, "It is sunny in Tokyo."))
    harness.generator.queue(weather_call_recording(enc), answer, answer)
    first = harness.client.responses.create(model=MODEL, input="Weather in Tokyo?", tools=RESPONSES_TOOLS)
    (call,) = response_function_calls(first)
    result: ResponseInputItemParam = {
        "type": "function_call_output",
        "call_id": call.call_id,
        "output": '{"sky": "sunny", "celsius": 21}',
    }

    chained = harness.client.responses.create(
        model=MODEL, previous_response_id=first.id, input=[result], tools=RESPONSES_TOOLS
    )
    chained_prompt = harness.prompt
    text = harness.prompt_text()
    assert "<|start|>user<|message|>Weather in Tokyo?<|end|>" in text
    assert 'to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{"location": "Tokyo"}' in text
    assert '<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>{"sky": "sunny"' in text
    assert chained.status == "completed"
    assert chained.output_text == "It is sunny in Tokyo."
    assert [item.type for item in chained.output] == ["message"]

    previous_items: List[Any] = [{"type": "message", "role": "user", "content": "Weather in Tokyo?"}, *first.output]
    expected = prompt_for_responses(enc, {"model": MODEL, "input": [result], "tools": RESPONSES_TOOLS}, previous_items)
    assert chained_prompt == expected.tokens

    explicit: ResponseInputParam = [
        {"type": "message", "role": "user", "content": "Weather in Tokyo?"},
        *as_input_items(first),
        result,
    ]
    replayed = harness.client.responses.create(model=MODEL, input=explicit, tools=RESPONSES_TOOLS)
    assert harness.prompt == chained_prompt
    assert replayed.output_text == "It is sunny in Tokyo."


def test_responses_tool_loop_stream(harness: Harness, enc: HarmonyEncoding) -> None:
    """Streamed responses are stored too: ``previous_response_id`` works after
    a streamed turn."""
    harness.generator.queue(weather_call_recording(enc), completion(enc, final_answer(enc, "It is sunny in Tokyo.")))
    events = list(
        harness.client.responses.create(model=MODEL, input="Weather in Tokyo?", tools=RESPONSES_TOOLS, stream=True)
    )
    first = final_response(events)
    (call,) = response_function_calls(first)
    events = list(
        harness.client.responses.create(
            model=MODEL,
            previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
            tools=RESPONSES_TOOLS,
            stream=True,
        )
    )
    check_sequence_numbers(events)
    assert collapse_deltas([e.type for e in events]) == [*START_EVENTS, *MESSAGE_EVENTS, "response.completed"]
    assert final_response(events).output_text == "It is sunny in Tokyo."
    text = harness.prompt_text()
    assert '{"location": "Tokyo"}<|call|>' in text
    assert "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>sunny<|end|>" in text


# --- (d) parallel tool calls ---------------------------------------------------------


def parallel_recording(enc: HarmonyEncoding) -> List[int]:
    return completion(
        enc,
        reasoning(enc, "Two cities: call the tool twice."),
        tool_call(enc, "get_weather", {"location": "Tokyo"}, last=False),
        tool_call(enc, "get_weather", {"location": "Paris"}),
    )


def test_chat_parallel_tool_calls(harness: Harness, enc: HarmonyEncoding) -> None:
    harness.generator.queue(
        parallel_recording(enc), completion(enc, final_answer(enc, "Tokyo is sunny; Paris is rainy."))
    )
    messages: List[ChatCompletionMessageParam] = [{"role": "user", "content": "Weather in Tokyo and Paris?"}]
    first = harness.client.chat.completions.create(model=MODEL, messages=messages, tools=CHAT_TOOLS)
    assert first.choices[0].finish_reason == "tool_calls"
    calls = function_calls(first)
    assert [c.function.name for c in calls] == ["get-weather", "get-weather"]
    assert [json.loads(c.function.arguments) for c in calls] == [{"location": "Tokyo"}, {"location": "Paris"}]
    assert len({c.id for c in calls}) == 2

    results: List[ChatCompletionToolMessageParam] = [
        {"role": "tool", "tool_call_id": calls[0].id, "content": "sunny"},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "rainy"},
    ]
    messages += [
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.function.name, "arguments": c.function.arguments},
                }
                for c in calls
            ],
        },
        *results,
    ]
    second = harness.client.chat.completions.create(model=MODEL, messages=messages, tools=CHAT_TOOLS)
    assert second.choices[0].message.content == "Tokyo is sunny; Paris is rainy."
    text = harness.prompt_text()
    tokyo, paris = text.index('{"location": "Tokyo"}'), text.index('{"location": "Paris"}')
    sunny = text.index("to=assistant<|channel|>commentary<|message|>sunny")
    rainy = text.index("to=assistant<|channel|>commentary<|message|>rainy")
    assert tokyo < paris < sunny < rainy


def test_chat_parallel_tool_calls_stream(harness: Harness, enc: HarmonyEncoding) -> None:
    harness.generator.queue(parallel_recording(enc))
    stream = harness.client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather in Tokyo and Paris?"}],
        tools=CHAT_TOOLS,
        stream=True,
    )
    result = collect_chat_stream(list(stream))
    assert result.finish_reason == "tool_calls"
    assert [c.name for c in result.tool_calls] == ["get-weather", "get-weather"]
    assert [json.loads(c.arguments) for c in result.tool_calls] == [{"location": "Tokyo"}, {"location": "Paris"}]
    assert len({c.id for c in result.tool_calls}) == 2
    assert result.reasoning == "Two cities: call the tool twice."


def test_responses_parallel_tool_calls(harness: Harness, enc: HarmonyEncoding) -> None:
    harness.generator.queue(parallel_recording(enc), completion(enc, final_answer(enc, "Sunny, then rainy.")))
    events = list(
        harness.client.responses.create(
            model=MODEL, input="Weather in Tokyo and Paris?", tools=RESPONSES_TOOLS, stream=True
        )
    )
    check_sequence_numbers(events)
    assert collapse_deltas([e.type for e in events]) == [
        *START_EVENTS,
        *REASONING_EVENTS,
        *FUNCTION_CALL_EVENTS,
        *FUNCTION_CALL_EVENTS,
        "response.completed",
    ]
    first = final_response(events)
    assert [item.type for item in first.output] == ["reasoning", "function_call", "function_call"]
    calls = response_function_calls(first)
    assert [json.loads(c.arguments) for c in calls] == [{"location": "Tokyo"}, {"location": "Paris"}]
    assert [c.name for c in calls] == ["get-weather", "get-weather"]
    assert len({c.call_id for c in calls}) == 2
    assert len({c.id for c in calls}) == 2

    second = harness.client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"},
            {"type": "function_call_output", "call_id": calls[1].call_id, "output": "rainy"},
        ],
        tools=RESPONSES_TOOLS,
    )
    assert second.output_text == "Sunny, then rainy."
    text = harness.prompt_text()
    tokyo, paris = text.index('{"location": "Tokyo"}'), text.index('{"location": "Paris"}')
    sunny = text.index("to=assistant<|channel|>commentary<|message|>sunny")
    rainy = text.index("to=assistant<|channel|>commentary<|message|>rainy")
    assert tokyo < paris < sunny < rainy


# --- (e) the token budget runs out -----------------------------------------------------


def endless_reasoning(enc: HarmonyEncoding) -> List[int]:
    """Reasoning that never ends: no stop token anywhere."""
    tokens = completion(enc, reasoning(enc, "Let me think about this for a long long time. " * 8))
    return tokens[:-1]


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_chat_length(harness: Harness, enc: HarmonyEncoding, field: str) -> None:
    harness.generator.queue(endless_reasoning(enc))
    messages: List[ChatCompletionMessageParam] = [{"role": "user", "content": "Think hard."}]
    if field == "max_tokens":
        result = harness.client.chat.completions.create(model=MODEL, messages=messages, max_tokens=12)
    else:
        result = harness.client.chat.completions.create(model=MODEL, messages=messages, max_completion_tokens=12)
    call = harness.generator.calls[0]
    assert call.max_tokens == 12
    assert call.consumed == 12
    choice = result.choices[0]
    assert choice.finish_reason == "length"
    assert (reasoning_content(choice.message) or "").startswith("Let me think")
    assert choice.message.content is None
    assert result.usage is not None
    assert result.usage.completion_tokens == 12


def test_chat_length_stream(harness: Harness, enc: HarmonyEncoding) -> None:
    harness.generator.queue(endless_reasoning(enc))
    stream = harness.client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Think hard."}], max_completion_tokens=12, stream=True
    )
    result = collect_chat_stream(list(stream))
    assert result.finish_reason == "length"
    assert result.reasoning.startswith("Let me think")
    assert harness.generator.calls[0].consumed == 12


def test_chat_length_when_the_generator_ends_early(harness: Harness, enc: HarmonyEncoding) -> None:
    """A generator that stops before a stop token (and before the budget)."""
    harness.generator.queue(endless_reasoning(enc)[:10])
    result = harness.client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Think."}])
    assert result.choices[0].finish_reason == "length"


def test_responses_length(harness: Harness, enc: HarmonyEncoding) -> None:
    harness.generator.queue(endless_reasoning(enc))
    response = harness.client.responses.create(model=MODEL, input="Think hard.", max_output_tokens=16)
    assert harness.generator.calls[0].max_tokens == 16
    assert harness.generator.calls[0].consumed == 16
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert [item.type for item in response.output] == ["reasoning"]
    assert reasoning_texts(response)[0].startswith("Let me think")


def test_responses_length_stream(harness: Harness, enc: HarmonyEncoding) -> None:
    harness.generator.queue(endless_reasoning(enc))
    events = list(harness.client.responses.create(model=MODEL, input="Think hard.", max_output_tokens=16, stream=True))
    check_sequence_numbers(events)
    assert collapse_deltas([e.type for e in events]) == [*START_EVENTS, *REASONING_EVENTS, "response.incomplete"]
    response = final_response(events)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert harness.generator.calls[0].consumed == 16


# --- (f) requests the library refuses --------------------------------------------------


def test_chat_unknown_tool_call_id_is_400(harness: Harness) -> None:
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as info:
            harness.client.chat.completions.create(
                model=MODEL,
                messages=[
                    {"role": "user", "content": "Weather?"},
                    {"role": "tool", "tool_call_id": "call_nowhere", "content": "sunny"},
                ],
                tools=CHAT_TOOLS,
                stream=stream,
            )
        assert info.value.status_code == 400
        assert "call_nowhere" in info.value.message
        body = info.value.body
        assert isinstance(body, dict)
        assert body["type"] == "invalid_request_error"
    assert harness.generator.calls == []


def test_responses_unknown_call_id_is_400(harness: Harness) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        harness.client.responses.create(
            model=MODEL,
            input=[{"type": "function_call_output", "call_id": "call_nowhere", "output": "sunny"}],
            tools=RESPONSES_TOOLS,
        )
    assert "call_nowhere" in info.value.message
    with pytest.raises(openai.BadRequestError) as info:
        harness.client.responses.create(model=MODEL, input="Hi", previous_response_id="resp_unknown", stream=True)
    assert "resp_unknown" in info.value.message
    assert harness.generator.calls == []


def test_chat_n_above_one_is_400(harness: Harness) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        harness.client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], n=2)
    assert "n=1" in info.value.message
    assert harness.generator.calls == []


def test_failing_generator(enc: HarmonyEncoding) -> None:
    """A generator that raises: a 500 before anything was sent; a cut stream after."""

    def failing(prompt_tokens: List[int], stop_tokens: List[int], max_tokens: Optional[int]) -> Iterator[int]:
        yield from completion(enc, reasoning(enc, "Thinking"))[:3]
        raise RuntimeError("the model fell over")

    server = harmony_server.make_server(failing, encoding=enc)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{server.server_address[1]}/v1", api_key="x", max_retries=0)
    try:
        messages: List[ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model=MODEL, messages=messages)
        with pytest.raises(openai.APIConnectionError):
            list(client.chat.completions.create(model=MODEL, messages=messages, stream=True))
        with pytest.raises(openai.APIConnectionError):
            list(client.responses.create(model=MODEL, input="Hi", stream=True))
        assert client.models.list().data, "the server still serves"
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("scenario", ["answer", "tool-call", "parallel", "length"])
def test_wire_format_validates(harness: Harness, enc: HarmonyEncoding, scenario: str) -> None:
    """Every body, chunk and event the server sends validates (strictly, not
    the client's lenient construction) against the openai types."""
    recordings = {
        "answer": completion(enc, reasoning(enc, "Easy."), final_answer(enc, "Hello!")),
        "tool-call": weather_call_recording(enc),
        "parallel": parallel_recording(enc),
        "length": endless_reasoning(enc),
    }
    recording = recordings[scenario]
    harness.generator.queue(*[recording] * 4)
    budget = 10 if scenario == "length" else None
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "tools": CHAT_TOOLS, "max_tokens": budget}
    responses = {"model": MODEL, "input": "Hi", "tools": RESPONSES_TOOLS, "max_output_tokens": budget}
    events = TypeAdapter(ResponseStreamEvent)

    def post(path: str, body: Dict[str, Any]) -> str:
        request = urllib.request.Request(harness.base_url + path, data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=30) as reply:
            text: str = reply.read().decode()
            return text

    completion_body = ChatCompletion.model_validate_json(post("/chat/completions", chat))
    assert completion_body.choices[0].finish_reason == (
        "length" if budget else "stop" if scenario == "answer" else "tool_calls"
    )
    response = Response.model_validate_json(post("/responses", responses))
    assert response.status == ("incomplete" if budget else "completed")

    blocks = post("/chat/completions", {**chat, "stream": True}).split("\n\n")
    assert blocks[-2:] == ["data: [DONE]", ""]
    for block in blocks[:-2]:
        ChatCompletionChunk.model_validate_json(block[len("data: ") :])
    blocks = [block for block in post("/responses", {**responses, "stream": True}).split("\n\n") if block]
    numbers = []
    for block in blocks:
        event = events.validate_json(block.split("\n")[1][len("data: ") :])
        numbers.append(event.sequence_number)
    assert numbers == list(range(len(blocks)))


# --- client errors are 4xx, logging, the demo, `harmony serve` -----------------


def raw_exchange(base_url: str, head: str, body: bytes = b"") -> Tuple[int, Dict[str, Any]]:
    """Sends a hand-written request (headers a client library would not send)."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(base_url)
    with socket.create_connection((url.hostname, url.port or 80), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    try:
        return int(status_line.split()[1]), json.loads(payload or b"{}")
    except ValueError:  # the HTTP layer's own plain-text refusal (uvicorn's parser)
        return int(status_line.split()[1]), {"text": payload.decode("latin-1")}


def test_client_errors_are_4xx(harness: Harness) -> None:
    url = harness.base_url + "/chat/completions"
    ok_messages = [{"role": "user", "content": "hi"}]
    cases = [
        (json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "\ud800"}]}).encode(), "lone surrogate"),
        (b'{"model": "m", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        (json.dumps({"model": MODEL, "messages": ok_messages, "stream": "no"}).encode(), "stream must be a boolean"),
    ]
    for body, message in cases:
        status, doc = post_raw(url, body)
        assert status == 400 and message in doc["error"]["message"], (status, doc)
    status, doc = post_raw(url, json.dumps({"model": MODEL, "messages": ok_messages, "stream": "no"}).encode())
    assert doc["error"]["param"] == "stream"
    # A malformed Content-Length is refused by the HTTP parser before the app sees it.
    status, doc = raw_exchange(harness.base_url, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5")
    assert status == 400, doc
    big = 33 << 20
    status, doc = raw_exchange(
        harness.base_url, f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {big}"
    )
    assert status == 413 and "over the limit" in doc["error"]["message"]
    # Responses too.
    status, doc = post_raw(harness.base_url + "/responses", json.dumps({"input": "\ud800"}).encode())
    assert status == 400 and "lone surrogate" in doc["error"]["message"]


def test_each_request_is_logged(enc: HarmonyEncoding, caplog: pytest.LogCaptureFixture) -> None:
    server = harmony_server.make_server(harmony_server.demo_generator(enc), "127.0.0.1", 0, MODEL, log_requests=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.port}/v1"
    try:
        with caplog.at_level("INFO", logger="openai_harmony.server"):
            urllib.request.urlopen(base + "/models", timeout=10).read()
            post_raw(base + "/chat/completions", b"{oops")
            # The handler thread logs once the reply is sent: wait for it.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and sum(r.name == "openai_harmony.server" for r in caplog.records) < 2:
                time.sleep(0.01)
    finally:
        server.shutdown()
        server.server_close()
    lines = [r.getMessage() for r in caplog.records if r.name == "openai_harmony.server"]
    assert any(re.fullmatch(r"GET /v1/models 200 \d+\.\d ms", line) for line in lines), lines
    assert any(re.fullmatch(r"POST /v1/chat/completions 400 \d+\.\d ms", line) for line in lines), lines


def test_the_demo_calls_a_declared_tool(enc: HarmonyEncoding) -> None:
    server = harmony_server.make_server(harmony_server.demo_generator(enc), "127.0.0.1", 0, MODEL, encoding=enc)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{server.port}/v1", api_key="x", max_retries=0, timeout=30)
    try:
        messages: List[Any] = [{"role": "user", "content": "Weather in Oslo?"}]
        reply = client.chat.completions.create(model=MODEL, messages=messages, tools=CHAT_TOOLS)
        choice = reply.choices[0]
        assert choice.finish_reason == "tool_calls"
        call = choice.message.tool_calls[0]  # type: ignore[index]
        assert call.function.name == "get-weather"  # type: ignore[union-attr]
        messages += [
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "snow"},
        ]
        answer = client.chat.completions.create(model=MODEL, messages=messages, tools=CHAT_TOOLS)
        assert answer.choices[0].finish_reason == "stop" and "tool" in (answer.choices[0].message.content or "")
        plain = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
        assert plain.choices[0].finish_reason == "stop"
    finally:
        client.close()
        server.shutdown()
        server.server_close()


def test_harmony_serve(tmp_path: Path) -> None:
    import signal

    with started_harmony("serve", "--port", "0", "--delay", "0") as (proc, line):
        m = re.search(r"on (http://[\d.]+:\d+/v1)", line)
        assert m, line
        client = openai.OpenAI(base_url=m.group(1), api_key="x", max_retries=0, timeout=30)
        reply = client.chat.completions.create(model="gpt-oss", messages=[{"role": "user", "content": "Hi"}])
        assert "demo generator" in (reply.choices[0].message.content or "")
        client.close()
        time.sleep(0.2)  # the request's log line follows its reply
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert re.search(r"POST /v1/chat/completions 200 \d+\.\d ms", err), err


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_harmony_serve_stops_cleanly(how: str) -> None:
    """Ctrl-C and SIGTERM (what `docker stop` and systemd send) both stop
    the server with status 0, also when the tests run in a background job."""
    import signal

    with started_harmony("serve", "--port", "0") as (proc, line):
        assert "serving" in line
        proc.send_signal(getattr(signal, how))
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err


def test_errors_name_the_field(harness: Harness) -> None:
    messages = [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "nope", "content": "1"}]
    status, doc = post_raw(
        harness.base_url + "/chat/completions", json.dumps({"model": MODEL, "messages": messages}).encode()
    )
    assert status == 400 and doc["error"]["param"] == "messages[1]", doc
    status, doc = post_raw(harness.base_url + "/chat/completions", json.dumps({"model": MODEL, "messages": 5}).encode())
    assert status == 400 and doc["error"]["param"] == "messages", doc


def test_random_requests_are_never_a_server_error(enc: HarmonyEncoding) -> None:
    """Bodies of random JSON under the keys both APIs read: a reply (from the
    demo generator) or a 4xx, never a 500."""
    import random

    server = harmony_server.make_server(harmony_server.demo_generator(enc), "127.0.0.1", 0, MODEL, encoding=enc)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        random_requests(f"http://127.0.0.1:{server.port}/v1", random.Random(11))
    finally:
        server.shutdown()
        server.server_close()


def random_requests(base_url: str, rng: Any) -> None:
    leaves: List[Any] = [None, True, 0, -1, 1.5, "", "x", "\ud800", "user", "assistant", "tool", "auto", "required"]
    inner = ["role", "content", "tool_calls", "tool_call_id", "name", "type", "function", "arguments", "id", "text"]
    inner += ["reasoning_content", "schema", "json_schema", "parameters"]
    outer = ["model", "messages", "tools", "tool_choice", "response_format", "stream", "max_tokens", "n", "input"]
    outer += ["instructions", "text", "reasoning", "previous_response_id", "store", "max_output_tokens"]

    def value(depth: int = 0) -> Any:
        r = rng.random()
        if depth > 3 or r < 0.3:
            return rng.choice(leaves)
        if r < 0.6:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(inner): value(depth + 1) for _ in range(rng.randint(0, 4))}

    statuses: Dict[int, int] = {}
    for _ in range(300):
        api = rng.choice(["/chat/completions", "/responses"])
        body = {k: value() for k in rng.sample(outer, rng.randint(1, 6))}
        if api == "/chat/completions" and rng.random() < 0.5:
            body["messages"] = [{"role": "user", "content": "hi"}, *([value()] if rng.random() < 0.5 else [])]
        request = urllib.request.Request(base_url + api, data=json.dumps(body).encode(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                reply.read()  # JSON or an event stream
                status = int(reply.status)
        except urllib.error.HTTPError as error:
            error.read()
            status = int(error.code)
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, body
    assert statuses.get(400, 0) > 100 and sum(statuses.values()) == 300, statuses
