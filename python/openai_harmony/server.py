"""A small OpenAI-compatible HTTP server for gpt-oss over ``openai_harmony``.

Reference code, standard library only: ``POST /v1/chat/completions``,
``POST /v1/responses`` (streaming or not), ``GET /v1/models`` and ``GET /metrics``
(the parse repairs by kind, in Prometheus' text format). The model is
a pluggable *generator*::

    generator(prompt_tokens, stop_tokens, max_tokens) -> Iterable[int]

that yields completion tokens. The server stops consuming it at the first
stop token or after ``max_tokens`` tokens; a reply that ends without a stop
token finishes with ``length`` (Chat Completions) or ``incomplete``
(Responses). Everything else (prompts, tool names, parsing, chunks, events)
is ``openai_harmony.interop``.

``harmony serve`` (or ``python -m openai_harmony.server``) runs it with the
demo generator, which replays a canned completion: a tool call when the
request declares tools, else an answer. See examples/server/README.md for
plugging in vLLM, transformers or llama.cpp.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterable, Iterator, List, Literal, Optional, Tuple

from ._encoding import HarmonyEncoding, HarmonyEncodingName, HarmonyError, load_harmony_encoding
from ._mode import parse_mode, repair_counts
from ._models import Message, Role
from ._store import STORE_BYTES, STORE_ENTRIES, ResponseStore
from .interop import (
    ChatCompletionStream,
    FinishReason,
    ResponsesStream,
    chat_completion_from_harmony,
    prompt_for_chat_completions,
    prompt_for_responses,
    response_from_harmony,
    responses_usage,
)

Json = Dict[str, Any]
logger = logging.getLogger("openai_harmony.server")
Generator = Callable[[List[int], List[int], Optional[int]], Iterable[int]]
"""``(prompt_tokens, stop_tokens, max_tokens) -> completion tokens``."""

__all__ = [
    "MAX_BODY_BYTES",
    "Generator",
    "HarmonyServer",
    "ResponseStore",
    "demo_generator",
    "main",
    "make_server",
    "serve",
]

MAX_BODY_BYTES = 32 << 20
"""The largest request body accepted by default (32 MiB); larger ones get 413."""

_DIGITS = re.compile(r"[0-9]+")  # ASCII only: "²".isdigit() is true


class RequestError(Exception):
    """A request the server refuses: an HTTP status and an OpenAI error body."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",
        param: Optional[str] = None,
        code: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: Json = {"error": {"message": message, "type": type, "param": param, "code": code}}


class _Run:
    """One pass over the generator: tokens until a stop token or the budget."""

    def __init__(self, generator: Generator, prompt: List[int], stop: List[int], max_tokens: Optional[int]) -> None:
        self._generator = generator
        self._prompt = prompt
        self._stop_tokens = stop
        self._stop = set(stop)
        self._max = max_tokens
        self.tokens: List[int] = []
        self.stopped = False

    def __iter__(self) -> Iterator[int]:
        iterator = iter(self._generator(list(self._prompt), list(self._stop_tokens), self._max))
        try:
            while self._max is None or len(self.tokens) < self._max:
                try:
                    token = next(iterator)
                except StopIteration:
                    break
                self.tokens.append(token)
                yield token
                if token in self._stop:
                    self.stopped = True
                    break
        finally:
            close = getattr(iterator, "close", None)
            if callable(close):
                close()

    @property
    def finish_reason(self) -> Optional[FinishReason]:
        """``length`` when the completion did not end with a stop token; else
        ``None`` (the library infers ``stop`` or ``tool_calls``)."""
        return None if self.stopped else "length"


def _metrics() -> str:
    """``GET /metrics``: the process's parse repairs by kind, in Prometheus'
    text format (see docs/operators.md)."""
    lines = [
        "# HELP harmony_parse_repairs_total Repairs lenient parsing made to malformed model output, by kind.",
        "# TYPE harmony_parse_repairs_total counter",
    ]
    lines += [f'harmony_parse_repairs_total{{kind="{kind}"}} {n}' for kind, n in repair_counts().items()]
    lines += [
        "# HELP harmony_parse_mode The process-wide parse mode (OPENAI_HARMONY_PARSE): 1 for the mode in force.",
        "# TYPE harmony_parse_mode gauge",
    ]
    lines += [f'harmony_parse_mode{{mode="{m}"}} {int(parse_mode() == m)}' for m in ("strict", "lenient")]
    return "\n".join(lines) + "\n"


class HarmonyServer(ThreadingHTTPServer):
    """The HTTP server: the generator, the encoding and the stored responses."""

    daemon_threads = True
    # The listen backlog: a burst of connections waits in the kernel's
    # queue rather than being refused (socketserver's default is 5).
    request_queue_size = 1024

    def __init__(
        self,
        address: Tuple[str, int],
        generator: Generator,
        *,
        model: str = "gpt-oss",
        encoding: Optional[HarmonyEncoding] = None,
        log_requests: bool = False,
        max_body_bytes: int = MAX_BODY_BYTES,
        store_entries: int = STORE_ENTRIES,
        store_bytes: int = STORE_BYTES,
    ) -> None:
        self.generator = generator
        self.max_body_bytes = max_body_bytes
        self.model = model
        self.encoding = encoding or load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
        self.log_requests = log_requests
        self.responses = ResponseStore(store_entries, store_bytes)
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Logs a failed connection, except a client that hung up."""
        # A client that hangs up is not an error worth a traceback.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)

    @property
    def port(self) -> int:
        """The port the server listens on (the one chosen when bound to port 0)."""
        return int(self.server_address[1])

    def store_response(self, response: Json, items: List[Json]) -> None:
        """Keeps a response, and its conversation's items for a later
        ``previous_response_id``, in the bounded store."""
        self.responses.put(response, items)

    def stored_items(self, response_id: str) -> Optional[List[Json]]:
        """The items kept for a response id, if any."""
        return self.responses.items(response_id)


def make_server(
    generator: Generator,
    host: str = "127.0.0.1",
    port: int = 0,
    model: str = "gpt-oss",
    *,
    encoding: Optional[HarmonyEncoding] = None,
    log_requests: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
    store_entries: int = STORE_ENTRIES,
    store_bytes: int = STORE_BYTES,
) -> HarmonyServer:
    """A server bound to ``host:port`` (port 0: any free port, see ``.port``);
    run it with ``serve_forever()``. ``log_requests`` logs each request
    (method, path, status, time) to the ``openai_harmony.server`` logger; a
    body over ``max_body_bytes`` is refused with 413. Responses are kept
    for ``previous_response_id`` and ``GET``/``DELETE /v1/responses/{id}``
    up to ``store_entries`` of them and ``store_bytes`` of their JSON, the
    least recently used dropped first (``"store": false`` keeps none)."""
    return HarmonyServer(
        (host, port),
        generator,
        model=model,
        encoding=encoding,
        log_requests=log_requests,
        max_body_bytes=max_body_bytes,
        store_entries=store_entries,
        store_bytes=store_bytes,
    )


class _Handler(BaseHTTPRequestHandler):
    server: HarmonyServer
    protocol_version = "HTTP/1.1"
    _streaming = False  # whether the response headers went out (an event stream started)

    # --- plumbing -----------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        # http.server's own lines (errors of malformed requests) go to the
        # logger too, when logging is on.
        if self.server.log_requests:
            logger.info("%s - %s", self.address_string(), format % args)

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        self._status = int(code) if str(code).isdigit() else 0

    def _log_done(self, method: str, started: float) -> None:
        if self.server.log_requests:
            path = self.path.split("?", 1)[0]
            elapsed = (time.perf_counter() - started) * 1000
            logger.info("%s %s %s %.1f ms", method, path, getattr(self, "_status", 0) or "-", elapsed)

    def _send_text(self, status: int, text: str, content_type: str, headers: Optional[Dict[str, str]] = None) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_json(self, status: int, body: Json, headers: Optional[Dict[str, str]] = None) -> None:
        self._send_text(status, json.dumps(body, ensure_ascii=False), "application/json", headers)

    def _start_events(self) -> None:
        self._streaming = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _send_chunk(self, text: str) -> None:
        data = text.encode("utf-8")
        self.wfile.write(f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n")
        self.wfile.flush()

    def _end_events(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _read_json(self) -> Json:
        lengths = {v.strip() for v in self.headers.get_all("Content-Length") or []}
        if len(lengths) > 1:
            # Which one frames the body is ambiguous (request smuggling).
            self.close_connection = True
            raise RequestError(400, f"conflicting Content-Length headers: {', '.join(sorted(lengths))}")
        length = self.headers.get("Content-Length")
        if length is None:
            if self.headers.get("Transfer-Encoding"):
                self.close_connection = True
            raise RequestError(411, "a Content-Length header is required")
        if not _DIGITS.fullmatch(length.strip()):
            # Negative, or not a number: the body cannot be found, so the
            # connection cannot be reused.
            self.close_connection = True
            raise RequestError(400, f"invalid Content-Length header {length!r}")
        size = int(length)
        if size > self.server.max_body_bytes:
            self.close_connection = True
            raise RequestError(413, f"the request body is {size} bytes, over the limit of {self.server.max_body_bytes}")
        raw = self.rfile.read(size)
        try:
            body = json.loads(raw)
        except ValueError as error:
            # Not JSON, not UTF-8, or an integer of more digits than Python
            # converts (sys.get_int_max_str_digits).
            raise RequestError(400, f"the request body is not valid JSON: {error}") from None
        except RecursionError:
            raise RequestError(400, "the request body is JSON nested too deeply") from None
        if not isinstance(body, dict):
            raise RequestError(400, "the request body must be a JSON object")
        try:
            # JSON may escape a lone surrogate ("\\ud800"), which no UTF-8
            # text can hold: refuse it here rather than fail later.
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise RequestError(400, "the request body holds a lone surrogate (\\ud800-\\udfff) in a string") from None
        except RecursionError:
            raise RequestError(400, "the request body is JSON nested too deeply") from None
        stream = body.get("stream", False)
        if stream is not None and not isinstance(stream, bool):
            raise RequestError(400, f"stream must be a boolean, got {json.dumps(stream)}", param="stream")
        return body

    def _model(self, request: Json) -> str:
        model = request.get("model")
        return model if isinstance(model, str) and model else self.server.model

    # --- routing ------------------------------------------------------------

    def _dispatch(self) -> None:
        started = time.perf_counter()
        method = self.command
        path = self.path.split("?", 1)[0].rstrip("/")
        self._streaming = False
        try:
            allowed = _allowed_methods(path)
            if allowed is not None and method in allowed:
                if method in ("GET", "HEAD"):
                    self._get(path)
                elif method == "DELETE":
                    self._delete(path)
                else:
                    self._post(path)
                return
            self._drain()
            if allowed is None:
                raise RequestError(404, f"no route for {method} {path}", code="not_found")
            headers = {"Allow": ", ".join(allowed)}
            if method == "OPTIONS":
                self._send_text(204, "", "text/plain", headers)
                return
            error = RequestError(405, f"{method} is not allowed on {path} (allowed: {', '.join(allowed)})")
            self._send_json(405, error.body, headers)
        except RequestError as error:
            self._send_json(error.status, error.body)
        finally:
            self._log_done(method, started)

    # Every method goes through the one dispatcher: a known path with another
    # method is 405 (with Allow), an unknown path 404, whatever the method.
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def _drain(self) -> None:
        """Reads an unrouted request's body, so the connection can be reused."""
        length = (self.headers.get("Content-Length") or "").strip()
        if _DIGITS.fullmatch(length) and int(length) <= self.server.max_body_bytes:
            self.rfile.read(int(length))
        elif length or self.headers.get("Transfer-Encoding"):
            self.close_connection = True

    def _get(self, path: str) -> None:
        if path == "/metrics":
            self._send_text(200, _metrics(), "text/plain; version=0.0.4")
        elif path == "/v1/models":
            model = {"id": self.server.model, "object": "model", "created": 0, "owned_by": "openai"}
            self._send_json(200, {"object": "list", "data": [model]})
        elif path.startswith("/v1/models/"):
            name = path[len("/v1/models/") :]
            if name != self.server.model:
                raise RequestError(404, f"The model '{name}' does not exist", param="model", code="model_not_found")
            self._send_json(200, {"id": self.server.model, "object": "model", "created": 0, "owned_by": "openai"})
        else:
            response_id = path[len("/v1/responses/") :]
            response = self.server.responses.response(response_id)
            if response is None:
                raise _response_not_found(response_id)
            self._send_json(200, response)

    def _delete(self, path: str) -> None:
        response_id = path[len("/v1/responses/") :]
        if not self.server.responses.delete(response_id):
            raise _response_not_found(response_id)
        self._send_json(200, {"id": response_id, "object": "response", "deleted": True})

    def _post(self, path: str) -> None:
        routes: Dict[str, Callable[[Json], None]] = {
            "/v1/chat/completions": self._chat_completions,
            "/v1/responses": self._responses,
        }
        try:
            routes[path](self._read_json())
        except RequestError as error:
            self._send_json(error.status, error.body)
        except HarmonyError as error:
            self._send_json(400, RequestError(400, str(error), param=getattr(error, "param", None)).body)
        except (UnicodeEncodeError, RecursionError) as error:
            # What no field check above caught, still the client's input.
            self._send_json(400, RequestError(400, f"invalid request: {error}").body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            # A failing generator: a 500 if nothing was sent yet, else cut the stream.
            logger.exception("error while serving POST %s", path)
            self.close_connection = True
            if not self._streaming:
                self._send_json(500, RequestError(500, "internal server error", type="server_error").body)

    # --- Chat Completions ---------------------------------------------------

    def _chat_completions(self, request: Json) -> None:
        enc = self.server.encoding
        prompt = prompt_for_chat_completions(enc, request)
        if prompt.n != 1:
            raise RequestError(400, "only n=1 is supported", param="n")
        model = self._model(request)
        run = _Run(self.server.generator, prompt.tokens, prompt.stop_tokens, prompt.max_tokens)

        if not request.get("stream"):
            tokens = list(run)
            messages = enc.parse_messages_from_completion_tokens(
                tokens, Role.ASSISTANT, strict=False, tools=prompt.tools
            )
            usage = {
                "prompt_tokens": len(prompt.tokens),
                "completion_tokens": len(tokens),
                "total_tokens": len(prompt.tokens) + len(tokens),
            }
            body = chat_completion_from_harmony(
                messages, request, finish_reason=run.finish_reason, model=model, usage=usage
            )
            self._send_json(200, body)
            return

        stream = ChatCompletionStream(
            enc, request, model=model, created=int(time.time()), prompt_tokens=len(prompt.tokens)
        )
        self._start_events()
        for token in run:
            for chunk in stream.process(token):
                self._send_chunk(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n")
        for chunk in stream.finish(run.finish_reason):  # with the usage chunk when asked
            self._send_chunk(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n")
        self._send_chunk("data: [DONE]\n\n")
        self._end_events()

    # --- Responses ----------------------------------------------------------

    def _responses(self, request: Json) -> None:
        enc = self.server.encoding
        previous: Optional[List[Json]] = None
        previous_id = request.get("previous_response_id")
        if previous_id is not None:
            previous = self.server.stored_items(str(previous_id))
            if previous is None:
                raise RequestError(
                    400,
                    f"Previous response with id '{previous_id}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
        prompt = prompt_for_responses(enc, request, previous)
        inputs = prompt.input_items
        model = self._model(request)
        run = _Run(self.server.generator, prompt.tokens, prompt.stop_tokens, prompt.max_tokens)
        store = request.get("store", True) is not False

        if not request.get("stream"):
            tokens = list(run)
            messages = enc.parse_messages_from_completion_tokens(
                tokens, Role.ASSISTANT, strict=False, tools=prompt.tools
            )
            status: Literal["completed", "incomplete"] = "completed" if run.stopped else "incomplete"
            response = response_from_harmony(messages, request, previous, status=status, model=model)
            response["usage"] = responses_usage(enc, len(prompt.tokens), len(tokens), messages)
            if store:
                self.server.store_response(response, [*(previous or []), *inputs, *response["output"]])
            self._send_json(200, response)
            return

        stream = ResponsesStream(enc, request, previous, model=model, prompt_tokens=len(prompt.tokens))
        self._start_events()
        last: Optional[Json] = None
        for event in stream.start():
            self._send_event(event)
        for token in run:
            for event in stream.process(token):
                self._send_event(event)
        for event in stream.finish(run.finish_reason):  # the final response with its usage
            self._send_event(event)
            last = event
        self._end_events()
        if store:
            final = last.get("response") if last is not None else None
            if not isinstance(final, dict):
                final = stream.response("completed" if run.stopped else "incomplete")
            self.server.store_response(final, [*(previous or []), *inputs, *final.get("output", [])])

    def _send_event(self, event: Json) -> None:
        data = json.dumps(event, ensure_ascii=False)
        self._send_chunk(f"event: {event['type']}\ndata: {data}\n\n")


def _allowed_methods(path: str) -> Optional[List[str]]:
    """The methods a path answers, or None for a path the server does not have."""
    if path in ("/metrics", "/v1/models") or path.startswith("/v1/models/"):
        return ["GET", "HEAD"]
    if path in ("/v1/chat/completions", "/v1/responses"):
        return ["POST"]
    if path.startswith("/v1/responses/") and "/" not in path[len("/v1/responses/") :]:
        return ["GET", "HEAD", "DELETE"]
    return None


def _response_not_found(response_id: str) -> RequestError:
    return RequestError(404, f"Response with id '{response_id}' not found.", code="not_found")


# --- demo -------------------------------------------------------------------


def _first_function(prompt: str) -> Optional[str]:
    """The first function the developer message declares, in one pass over
    the prompt (a user's text holding `namespace functions {` many times
    costs no more than any other text)."""
    start = prompt.find("<|start|>developer<|message|>")
    if start < 0:
        return None
    end = prompt.find("<|end|>", start)
    message = prompt[start : end if end >= 0 else len(prompt)]
    at = message.find("namespace functions {")
    if at < 0:
        return None
    for line in message[at + len("namespace functions {") :].split("\n"):
        line = line.strip()
        if line and not line.startswith("//"):
            m = re.match(r"type (\w+) =", line)
            return m.group(1) if m else None
    return None


def demo_generator(encoding: Optional[HarmonyEncoding] = None, delay: float = 0.0) -> Generator:
    """A generator that ignores what the prompt asks and replays a canned
    completion: when the prompt declares function tools and its last message
    is not a tool's result, some reasoning and a call to the first function
    (arguments ``{}``, ending in ``<|call|>``); otherwise some reasoning and a
    final answer (ending in ``<|return|>``)."""
    enc = encoding or load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)

    def completion(prompt_tokens: List[int]) -> List[int]:
        text = enc.decode(prompt_tokens)
        last = text.rsplit("<|start|>", 2)[-2] if text.count("<|start|>") >= 2 else ""
        tool = _first_function(text)
        if tool and not last.startswith("functions."):
            thinking = "The user's question needs a tool. Call it."
            tokens = enc.render(Message.from_role_and_content(Role.ASSISTANT, thinking).with_channel("analysis"))[2:]
            call = (
                Message.from_role_and_content(Role.ASSISTANT, "{}")
                .with_channel("commentary")
                .with_recipient(f"functions.{tool}")
                .with_content_type("<|constrain|>json")
            )
            return tokens + enc.render(call)
        if last.startswith("functions."):
            thinking, answer = "The tool answered. Report it.", "Here is what the tool said (a canned demo reply)."
        else:
            thinking, answer = (
                "The user wants a greeting. Keep it short.",
                ("Hello! This is a canned reply from the demo generator."),
            )
        tokens = enc.render(Message.from_role_and_content(Role.ASSISTANT, thinking).with_channel("analysis"))[2:]
        tokens += enc.render(Message.from_role_and_content(Role.ASSISTANT, answer).with_channel("final"))[:-1]
        return tokens + enc.encode("<|return|>", allowed_special="all")

    def generate(prompt_tokens: List[int], stop_tokens: List[int], max_tokens: Optional[int]) -> Iterator[int]:
        for token in completion(prompt_tokens):
            if delay:
                time.sleep(delay)
            yield token

    return generate


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    model: str = "gpt-oss",
    delay: float = 0.02,
    *,
    store_entries: int = STORE_ENTRIES,
    store_mb: int = STORE_BYTES >> 20,
) -> None:
    """Serves the demo generator until Ctrl-C or SIGTERM, logging each request."""
    if store_entries < 0 or store_mb < 0:
        raise ValueError("--store-entries and --store-mb must not be negative")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    encoding = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    server = make_server(
        demo_generator(encoding, delay),
        host,
        port,
        model,
        encoding=encoding,
        log_requests=True,
        store_entries=store_entries,
        store_bytes=store_mb << 20,
    )
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM)
    if main:
        signal.signal(signal.SIGTERM, _stop)  # `docker stop`, systemd: a clean stop, as Ctrl-C
    try:
        print(f"serving {model} on http://{host}:{server.port}/v1 (demo generator; Ctrl-C stops)", flush=True)
        print(
            f"parse mode {parse_mode()} (OPENAI_HARMONY_PARSE); replies are always parsed leniently:"
            " repairs are logged and counted at /metrics",
            flush=True,
        )
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if main:
            signal.signal(signal.SIGTERM, previous)


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Optional[List[str]] = None) -> None:
    """``python -m openai_harmony.server [--host] [--port] [--model] [--delay]``."""
    from .cli import add_serve_arguments  # one definition of the options, with `harmony serve`

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_serve_arguments(parser)
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.model, args.delay, store_entries=args.store_entries, store_mb=args.store_mb)


if __name__ == "__main__":
    main()
