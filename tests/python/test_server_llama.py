"""``harmony serve --model PATH.gguf``: the server with llama.cpp behind it
(``LlamaGenerator``), driven by the official ``openai`` client, with the
tests' tiny random o200k_harmony model. The model samples noise, so the
requests steer it with ``logit_bias`` (as a client may) and the checks are
the grammar's guarantees: tool calls name the declared tools with valid
arguments, ``tool_choice`` and the response format hold."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest

try:
    import llama_cpp  # noqa: F401
except ImportError:
    if os.environ.get("HARMONY_REQUIRE_LLAMA"):
        raise
    pytest.skip("llama-cpp-python is not installed (make llama builds it)", allow_module_level=True)

import jsonschema
import openai

from conftest import started_harmony
from llama_model import cached_model
from openai_harmony import HarmonyEncoding
from openai_harmony import server as harmony_server
from openai_harmony.server.llama import LlamaEngine, LlamaGenerator

MODEL = "tiny"
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"],
    "additionalProperties": False,
}
CHAT_TOOLS: List[Any] = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather.", "parameters": WEATHER}}
]
MESSAGES: List[Any] = [{"role": "user", "content": "Weather in Oslo?"}]


@pytest.fixture(scope="module")
def client(engine: LlamaEngine, enc: HarmonyEncoding) -> Iterator[openai.OpenAI]:
    server = harmony_server.make_server(LlamaGenerator(engine, enc), "127.0.0.1", 0, MODEL, encoding=enc)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api = openai.OpenAI(base_url=f"http://127.0.0.1:{server.port}/v1", api_key="x", max_retries=0, timeout=120)
    try:
        yield api
    finally:
        api.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def steer(enc: HarmonyEncoding) -> Dict[str, int]:
    """``logit_bias`` that makes the random model's completions end soon:
    the format's tokens and JSON punctuation up, whitespace down."""
    bias: Dict[str, int] = {}
    for text in ("<|start|>", "<|channel|>", "<|message|>", "<|constrain|>", "<|end|>", "<|return|>", "<|call|>"):
        bias[str(enc.encode(text, allowed_special="all")[0])] = 12
    for text in ('"', '",', '":', "}", "{", ",", ":", "1", " to", "functions", "json"):
        bias[str(enc.encode_ordinary(text)[0])] = 10
    for token in range(200_000):
        raw = enc.decode_bytes([token])
        if raw and not raw.strip():
            bias[str(token)] = -20
    return bias


def test_tool_calls_under_each_tool_choice(client: openai.OpenAI, steer: Dict[str, int]) -> None:
    named = {"type": "function", "function": {"name": "get_weather"}}
    choices: List[Any] = ["auto", "required", named]
    done: Dict[str, int] = {}
    for choice in choices:
        for seed in range(4):
            reply = client.chat.completions.create(
                model=MODEL,
                messages=MESSAGES,
                tools=CHAT_TOOLS,
                tool_choice=choice,
                seed=seed,
                max_tokens=80,
                extra_body={"logit_bias": steer},
            )
            choice_ = reply.choices[0]
            key = choice if isinstance(choice, str) else "named"
            if choice_.finish_reason == "length":
                continue
            done[key] = done.get(key, 0) + 1
            if key != "auto":
                assert choice_.finish_reason == "tool_calls", reply
            for call in choice_.message.tool_calls or []:
                assert call.function.name == "get_weather"  # type: ignore[union-attr]
                jsonschema.validate(json.loads(call.function.arguments), WEATHER)  # type: ignore[union-attr]
    assert done.get("required", 0) > 0 and done.get("named", 0) > 0, done


def test_a_structured_output(client: openai.OpenAI, steer: Dict[str, int]) -> None:
    """The final answer validates against the response format. (A
    commentary preamble may come before it: the Responses API keeps it as
    its own message item, Chat Completions joins it into ``content``.)"""
    schema: Dict[str, Any] = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    text: Any = {"format": {"type": "json_schema", "name": "r", "schema": schema}}
    answered = 0
    for seed in range(4):
        response = client.responses.create(
            model=MODEL,
            input="Weather?",
            max_output_tokens=80,
            text=text,
            extra_body={"logit_bias": steer, "seed": seed},
        )
        if response.status == "completed":
            answered += 1
            final = [item for item in response.output if item.type == "message"][-1]
            jsonschema.validate(json.loads(final.content[0].text), schema)  # type: ignore[union-attr]
    assert answered > 0


def test_streaming_both_apis_and_the_budget(client: openai.OpenAI, steer: Dict[str, int]) -> None:
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            tools=CHAT_TOOLS,
            tool_choice="required",
            seed=1,
            max_tokens=80,
            stream=True,
            extra_body={"logit_bias": steer},
        )
    )
    assert chunks[-1].choices[0].finish_reason in ("tool_calls", "length")
    short = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=3)
    assert short.choices[0].finish_reason == "length" and short.usage and short.usage.completion_tokens == 3
    tools: List[Any] = [{"type": "function", "name": "get_weather", "parameters": WEATHER}]
    response = client.responses.create(
        model=MODEL,
        input="Weather?",
        tools=tools,
        tool_choice="required",
        max_output_tokens=80,
        extra_body={"logit_bias": steer, "seed": 2},
    )
    assert response.status in ("completed", "incomplete")
    for item in response.output:
        if item.type == "function_call" and response.status == "completed":
            jsonschema.validate(json.loads(item.arguments), WEATHER)
    events = list(
        client.responses.create(
            model=MODEL, input="Hi", max_output_tokens=20, stream=True, extra_body={"logit_bias": steer, "seed": 3}
        )
    )
    assert events[-1].type in ("response.completed", "response.incomplete")


def test_bad_sampling_settings_are_400(client: openai.OpenAI) -> None:
    for extra in ({"temperature": 5}, {"logit_bias": {"-1": 1}}, {"logit_bias": {"5": 500}}, {"seed": "x"}):
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=3, extra_body=extra)


def test_a_client_hanging_up_frees_the_model(client: openai.OpenAI, engine: LlamaEngine) -> None:
    base = str(client.base_url).rstrip("/")
    host, port = re.match(r"http://([\d.]+):(\d+)", base).groups()  # type: ignore[union-attr]
    body = json.dumps({"model": MODEL, "messages": MESSAGES, "max_tokens": 3000, "stream": True}).encode()
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        )
        data = b""
        while data.count(b"delta") < 3:
            data += sock.recv(65536)
    deadline = time.monotonic() + 30
    while engine.lock.locked() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not engine.lock.locked(), "the generation went on after the client hung up"
    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=3)
    assert reply.choices[0].finish_reason == "length"


def test_harmony_serve_with_a_gguf_model() -> None:
    with started_harmony("serve", "--port", "0", "--model", str(cached_model())) as (proc, line):
        m = re.search(r"on (http://[\d.]+:\d+/v1) \((.*?) in llama.cpp, grammar on", line)
        assert m, line
        api = openai.OpenAI(base_url=m.group(1), api_key="x", max_retries=0, timeout=120)
        assert [model.id for model in api.models.list().data] == [cached_model().stem]
        reply = api.chat.completions.create(model="x", messages=MESSAGES, max_tokens=5)
        assert reply.choices[0].finish_reason == "length"
        api.close()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
