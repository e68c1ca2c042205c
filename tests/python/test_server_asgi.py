"""The server as an ASGI app under uvicorn: the extra stays optional, the
generator runs off the event loop and stops when its client hangs up,
slow and idle connections time out, the app mounts under a prefix and runs
under ``uvicorn --factory --workers``; the playground's JSON endpoints."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from conftest import started, started_harmony
from openai_harmony import Conversation, HarmonyEncoding, Message, Role, SystemContent
from openai_harmony import server as harmony_server

MODEL = "gpt-oss-test"


class Endless:
    """A generator that yields analysis text until it is closed, counting
    tokens and noting the close."""

    def __init__(self, enc: HarmonyEncoding, wait: Optional[threading.Event] = None) -> None:
        self.word = enc.encode(" word")[0]
        self.head = enc.encode("<|channel|>analysis<|message|>", allowed_special="all")
        self.wait = wait
        self.produced = 0
        self.closed = threading.Event()

    def __call__(self, prompt: List[int], stop: List[int], max_tokens: Optional[int]) -> Iterator[int]:
        try:
            if self.wait is not None:
                self.wait.wait(30)
            yield from self.head
            while True:
                time.sleep(0.002)
                self.produced += 1
                yield self.word
        finally:
            self.closed.set()


def serve(app_or_generator: Any, **options: Any) -> Tuple[harmony_server.HarmonyServer, threading.Thread]:
    if callable(app_or_generator) and not hasattr(app_or_generator, "router"):
        server = harmony_server.make_server(app_or_generator, "127.0.0.1", 0, MODEL, **options)
    else:
        server = harmony_server.HarmonyServer(app_or_generator, ("127.0.0.1", 0), **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def stop(server: harmony_server.HarmonyServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=30)


def request_head(path: str, body: bytes) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def closed_within(sock: socket.socket, seconds: float) -> bytes:
    """What the server sends before it closes ``sock`` (fails if it does not
    close within ``seconds``: a deadline that never fires)."""
    sock.settimeout(seconds)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_importing_the_package_does_not_import_the_server_stack() -> None:
    code = (
        "import sys, openai_harmony, openai_harmony.interop;"
        " print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'anyio')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_a_client_hanging_up_mid_stream_stops_generation(enc: HarmonyEncoding, api: str) -> None:
    generator = Endless(enc)
    server, thread = serve(generator, encoding=enc)
    try:
        if api == "chat":
            path, doc = "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "stream": True}
        else:
            path, doc = "/v1/responses", {"input": "hi", "stream": True}
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(request_head(path, json.dumps(doc).encode()))
            data = b""
            while data.count(b"delta") < 5:
                data += sock.recv(65536)
        assert generator.closed.wait(10), "the generator was not closed after the client hung up"
        produced = generator.produced
        time.sleep(0.2)
        assert generator.produced == produced, "the generator went on after it was closed"
        assert urllib.request.urlopen(f"http://127.0.0.1:{server.port}/v1/models", timeout=10).status == 200
    finally:
        stop(server, thread)


def test_a_client_hanging_up_before_an_unstreamed_reply_stops_generation(enc: HarmonyEncoding) -> None:
    generator = Endless(enc)
    server, thread = serve(generator, encoding=enc)
    try:
        doc = {"messages": [{"role": "user", "content": "hi"}]}
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(request_head("/v1/chat/completions", json.dumps(doc).encode()))
            deadline = time.monotonic() + 10
            while generator.produced < 10 and time.monotonic() < deadline:
                time.sleep(0.01)
        assert generator.closed.wait(10), "the generator was not closed after the client hung up"
    finally:
        stop(server, thread)


def test_the_generator_runs_off_the_event_loop(enc: HarmonyEncoding) -> None:
    """A generator blocked before its first token (a long prefill) leaves the
    server answering: the blocked generator is released only once another
    request was answered, so a generator on the event loop would deadlock."""
    release = threading.Event()
    generator = Endless(enc, wait=release)
    server, thread = serve(generator, encoding=enc)
    try:
        doc = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(request_head("/v1/chat/completions", json.dumps(doc).encode()))
            models = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/v1/models", timeout=20)
            assert models.status == 200
            release.set()
            data = b""
            while b"delta" not in data:
                data += sock.recv(65536)
    finally:
        release.set()
        stop(server, thread)


def test_slow_and_idle_connections_time_out(enc: HarmonyEncoding) -> None:
    server, thread = serve(
        harmony_server.demo_generator(enc),
        encoding=enc,
        header_timeout=0.5,
        body_timeout=0.5,
        keep_alive_timeout=1,
    )
    try:
        address = ("127.0.0.1", server.port)
        # Connects and sends nothing.
        with socket.create_connection(address) as sock:
            assert closed_within(sock, 10) == b""
        # Drips its head a byte at a time (slowloris): cut although bytes keep coming.
        with socket.create_connection(address) as sock:
            sock.settimeout(10)
            head = b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
            cut = False
            for byte in head:
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    cut = True
                    break
                time.sleep(0.05)
            assert cut or closed_within(sock, 10) == b"", "a head dripping for 10 s was not cut"
        # Sends its head, then not the body it announced: 408.
        with socket.create_connection(address) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            reply = closed_within(sock, 10)
            assert reply.startswith(b"HTTP/1.1 408") and b"did not arrive" in reply, reply
        # Idle after a reply on a kept-alive connection: closed.
        with socket.create_connection(address) as sock:
            sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = closed_within(sock, 10)
            assert reply.startswith(b"HTTP/1.1 200"), reply
        assert urllib.request.urlopen(f"http://{address[0]}:{address[1]}/v1/models", timeout=10).status == 200
    finally:
        stop(server, thread)


def test_the_app_mounts_under_a_prefix(enc: HarmonyEncoding) -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    async def home(request: Any) -> PlainTextResponse:
        return PlainTextResponse("the host app")

    harmony = harmony_server.create_app(harmony_server.demo_generator(enc), model=MODEL, encoding=enc)
    app = Starlette(routes=[Route("/", home), Mount("/llm", app=harmony)])
    server, thread = serve(app)
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert urllib.request.urlopen(base + "/", timeout=10).read() == b"the host app"
        body = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
        reply = json.load(urllib.request.urlopen(urllib.request.Request(base + "/llm/v1/chat/completions", body)))
        assert "demo generator" in reply["choices"][0]["message"]["content"]
        page = urllib.request.urlopen(base + "/llm/", timeout=10).read().decode()
        assert 'src="playground/playground.js"' in page  # relative: it works under the prefix
        assert urllib.request.urlopen(base + "/llm/playground/playground.js", timeout=10).status == 200
    finally:
        stop(server, thread)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(url: str, proc: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


@pytest.mark.parametrize(
    "command",
    [
        [
            *("-m", "uvicorn", "--factory", "openai_harmony.server:demo_app", "--workers", "2"),
            *("--http", "openai_harmony.server:HarmonyHttpProtocol"),
        ],
        ["-m", "openai_harmony.cli", "serve", "--workers", "2", "--delay", "0"],
    ],
    ids=["uvicorn-factory", "harmony-serve"],
)
def test_two_worker_processes(command: List[str]) -> None:
    port = free_port()
    with started(
        [sys.executable, *command, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/v1/models", proc)
        body = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
        for _ in range(4):
            reply = json.load(urllib.request.urlopen(urllib.request.Request(base + "/v1/chat/completions", body)))
            assert reply["choices"][0]["finish_reason"] == "stop"
        import signal

        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err


# --- the playground's endpoints ------------------------------------------------


@pytest.fixture
def playground(enc: HarmonyEncoding) -> Iterator[str]:
    server, thread = serve(harmony_server.demo_generator(enc), encoding=enc)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        stop(server, thread)


def post(url: str, doc: Any) -> Tuple[int, Dict[str, Any]]:
    request = urllib.request.Request(url, json.dumps(doc).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_render_endpoint(playground: str, enc: HarmonyEncoding) -> None:
    convo = Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, SystemContent.new().with_conversation_start_date("2026-12-06")),
            Message.from_role_and_content(Role.USER, "Grüße, naïve café"),
        ]
    )
    status, doc = post(playground + "/harmony/render", {**convo.to_dict(), "syntax": "gbnf"})
    assert status == 200, doc
    expected = enc.render_conversation_for_completion(convo, Role.ASSISTANT)
    assert [t["id"] for t in doc["tokens"]] == expected and doc["count"] == len(expected)
    assert "".join(t["text"] for t in doc["tokens"] if "bytes" not in t) in enc.decode(expected)
    assert doc["special_count"] == sum(enc.is_special_token(t) for t in expected)
    assert doc["grammar_syntax"] == "gbnf" and "root ::=" in doc["grammar"], doc["grammar"]
    chat = {"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function", "function": {"name": "f"}}]}
    status, doc = post(playground + "/harmony/render", {"chat": chat})
    assert status == 200 and doc["source"] == "chat" and "functions.f" in doc["grammar"], doc
    bad: Dict[str, Any]
    for bad in ({"messages": 5}, {"chat": []}, {"messages": [], "syntax": "regex"}):
        status, doc = post(playground + "/harmony/render", bad)
        assert status == 400 and doc["error"]["message"], (bad, doc)


def test_parse_endpoint(playground: str, enc: HarmonyEncoding) -> None:
    text = "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final<|message|>Hello!<|return|>"
    status, doc = post(playground + "/harmony/parse", {"text": text})
    assert status == 200, doc
    ids = enc.encode(text, allowed_special="all")
    assert [s["id"] for s in doc["steps"]] == ids and doc["count"] == len(ids)
    assert "".join(s["delta"] or "" for s in doc["steps"]) == "Think.Hello!"
    assert [m["channel"] for m in doc["messages"]] == ["analysis", "final"]
    assert doc["repairs"] == [] and doc["error"] is None
    assert any(e["type"] == "MessageCompleted" for s in doc["steps"] for e in s["events"])
    # Lenient: a stray token repaired and listed; strict: an error at its position.
    broken = "<|channel|>final<|message|>Hi<|end|><|message|>"
    status, doc = post(playground + "/harmony/parse", {"text": broken})
    assert status == 200 and doc["repairs"], doc
    status, doc = post(playground + "/harmony/parse", {"text": broken, "strict": True})
    assert status == 200 and doc["error"] is not None, doc
    status, doc = post(playground + "/harmony/parse", {"ids": ids})
    assert status == 200 and len(doc["steps"]) == len(ids)
    broken_requests: List[Dict[str, Any]] = [
        {"ids": [-1]},
        {"ids": "x"},
        {"text": 5},
        {"text": "x", "role": "robot"},
        {"text": "x", "strict": 1},
    ]
    for bad in broken_requests:
        status, doc = post(playground + "/harmony/parse", bad)
        assert status == 400 and doc["error"]["message"], (bad, doc)


def test_special_tokens_endpoint_and_page(playground: str) -> None:
    doc = json.load(urllib.request.urlopen(playground + "/harmony/special-tokens", timeout=10))
    by_text = {t["text"]: t for t in doc["tokens"]}
    assert by_text["<|start|>"]["id"] == 200006 and "message" in by_text["<|start|>"]["meaning"]
    page = urllib.request.urlopen(playground + "/", timeout=10)
    assert page.headers["Content-Type"].startswith("text/html") and b"harmony playground" in page.read()


def test_harmony_playground_serves_the_page() -> None:
    import re
    import signal

    with started_harmony("playground", "--port", "0", "--no-open") as (proc, line):
        m = re.search(r"playground: (http://[\d.]+:\d+/)", line)
        assert m, line
        page = urllib.request.urlopen(m.group(1), timeout=10).read()
        assert b"harmony playground" in page
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
