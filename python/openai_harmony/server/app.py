"""The ASGI application (Starlette): HTTP plumbing around ``openai_harmony.interop``.

``create_app(generator, ...)`` gives an app to run under uvicorn (or any
ASGI server) or to mount in another one. The OpenAI rules (prompts, tool
names, chunks, events, usage, statuses) are the interop core's; this module
reads requests, runs the generator off the event loop (``jobs``) and writes
replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Tuple

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from .._encoding import HarmonyEncoding, HarmonyEncodingName, HarmonyError, load_harmony_encoding
from .._mode import parse_mode, repair_counts
from .._models import Message, Role
from ..interop import (
    ChatCompletionStream,
    ResponsesStream,
    chat_completion_from_harmony,
    chat_completion_usage,
    prompt_for_chat_completions,
    prompt_for_responses,
    response_from_harmony,
    responses_usage,
)
from . import playground
from .jobs import END, Failed, GenerationRequest, Generator, Job, Run
from .store import STORE_BYTES, STORE_ENTRIES, ResponseStore

Json = Dict[str, Any]
logger = logging.getLogger("openai_harmony.server")

MAX_BODY_BYTES = 32 << 20
"""The largest request body accepted by default (32 MiB); larger ones get 413."""
BODY_TIMEOUT = 30.0
"""Seconds a request body may take to arrive (then 408)."""
SEND_TIMEOUT = 60.0
"""Seconds a streamed reply may wait on a client that does not read (then the connection is cut)."""
GENERATOR_THREADS = 64
"""Requests the generator works on at once; more wait for a thread."""

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
        close: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.close = close  # the connection cannot be reused (the body was not read)
        self.body: Json = {"error": {"message": message, "type": type, "param": param, "code": code}}

    def response(self, headers: Optional[Dict[str, str]] = None) -> Response:
        """The JSON error reply (``Connection: close`` when the body was left unread)."""
        headers = dict(headers or {})
        if self.close:
            headers["Connection"] = "close"
        return JSONResponse(self.body, self.status, headers)


@dataclass
class Settings:
    """What the app serves with: the generator, the encoding, the limits."""

    generator: Generator
    model: str = "gpt-oss"
    encoding: HarmonyEncoding = field(
        default_factory=lambda: load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    )
    max_body_bytes: int = MAX_BODY_BYTES
    body_timeout: float = BODY_TIMEOUT
    send_timeout: float = SEND_TIMEOUT
    generator_threads: int = GENERATOR_THREADS
    store: ResponseStore = field(default_factory=ResponseStore)

    def __post_init__(self) -> None:
        self.pool = ThreadPoolExecutor(self.generator_threads, thread_name_prefix="harmony-generator")


def create_app(
    generator: Generator,
    *,
    model: str = "gpt-oss",
    encoding: Optional[HarmonyEncoding] = None,
    log_requests: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout: float = BODY_TIMEOUT,
    send_timeout: float = SEND_TIMEOUT,
    generator_threads: int = GENERATOR_THREADS,
    store_entries: int = STORE_ENTRIES,
    store_bytes: int = STORE_BYTES,
    playground_page: bool = True,
) -> Starlette:
    """The OpenAI-compatible ASGI app around ``generator``.

    ``generator(prompt_tokens, stop_tokens, max_tokens)`` returns an iterable
    of completion tokens; it runs in a pool of ``generator_threads`` threads,
    never on the event loop, and is closed (``.close()``) when its client
    hangs up. ``log_requests`` logs each request (method, path, status, time)
    to the ``openai_harmony.server`` logger. A body over ``max_body_bytes``
    is refused with 413, one slower than ``body_timeout`` seconds with 408;
    a stream whose client stops reading for ``send_timeout`` seconds is
    cut. Responses are kept for ``previous_response_id`` and
    ``GET``/``DELETE /v1/responses/{id}``, up to ``store_entries`` of them
    and ``store_bytes`` of their JSON (least recently used dropped first;
    ``"store": false`` keeps none). ``playground_page`` serves the
    playground at ``/`` and its JSON endpoints under ``/harmony/``.
    """
    if generator_threads < 1:
        raise ValueError("generator_threads must be at least 1")
    settings = Settings(
        generator,
        model=model,
        encoding=encoding or load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS),
        max_body_bytes=max_body_bytes,
        body_timeout=body_timeout,
        send_timeout=send_timeout,
        generator_threads=generator_threads,
        store=ResponseStore(store_entries, store_bytes),
    )
    api = _Api(settings)
    routes: List[BaseRoute] = [
        Route("/v1/chat/completions", api.chat_completions, methods=["POST"]),
        Route("/v1/responses", api.responses, methods=["POST"]),
        Route("/v1/responses/{response_id}", api.stored_response, methods=["GET", "DELETE"]),
        Route("/v1/models", api.models, methods=["GET"]),
        Route("/v1/models/{name:path}", api.model, methods=["GET"]),
        Route("/metrics", api.metrics, methods=["GET"]),
    ]
    if playground_page:
        routes += playground.routes(settings, api.read_json)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        settings.pool.shutdown(wait=False, cancel_futures=True)

    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error}, lifespan=lifespan)
    app.state.harmony = settings
    if log_requests:
        app.add_middleware(_LogRequests)
    return app


async def _http_error(request: Request, error: Exception) -> Response:
    """Starlette's 404 and 405 as OpenAI error bodies; OPTIONS on a known
    path is 204 with ``Allow``."""
    assert isinstance(error, HTTPException)
    headers = dict(error.headers or {})
    method, path = request.method, request.url.path
    if error.status_code == 405:
        if method == "OPTIONS":
            return Response(status_code=204, headers=headers)
        allowed = headers.get("Allow", "")
        return RequestError(405, f"{method} is not allowed on {path} (allowed: {allowed})").response(headers)
    if error.status_code == 404:
        return RequestError(404, f"no route for {method} {path}", code="not_found").response(headers)
    return RequestError(error.status_code, str(error.detail)).response(headers)


class _LogRequests:
    """Logs ``METHOD PATH STATUS TIME ms`` once each reply is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def sending(message: AsgiMessage) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            logger.info("%s %s %s %.1f ms", scope["method"], scope["path"], status or "-", elapsed)


def metrics_text() -> str:
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


def parse_body(raw: bytes) -> Json:
    """A request body as a JSON object, or a 400 naming what is wrong."""
    try:
        body = json.loads(raw, parse_constant=_no_constant)
    except ValueError as error:
        # Not JSON, not UTF-8, or an integer of more digits than Python
        # converts (sys.get_int_max_str_digits).
        raise RequestError(400, f"the request body is not valid JSON: {error}") from None
    except RecursionError:
        raise RequestError(400, "the request body is JSON nested too deeply") from None
    if not isinstance(body, dict):
        raise RequestError(400, "the request body must be a JSON object")
    try:
        # JSON may escape a lone surrogate ("\\ud800"), which no UTF-8 text
        # can hold: refuse it here rather than fail later.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise RequestError(400, "the request body holds a lone surrogate (\\ud800-\\udfff) in a string") from None
    except RecursionError:
        raise RequestError(400, "the request body is JSON nested too deeply") from None
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _sse(data: Json, event: Optional[str] = None) -> str:
    text = json.dumps(data, ensure_ascii=False)
    return f"event: {event}\ndata: {text}\n\n" if event else f"data: {text}\n\n"


class _Streaming:
    """The item a job hands first when its reply is an event stream."""


STREAMING = _Streaming()


class _CutStream(Exception):
    """The generator failed after the stream started: the connection is cut
    (the client sees a reply without its end, not a clean finish)."""


class _Api:
    def __init__(self, settings: Settings) -> None:
        self.s = settings

    # --- reading ------------------------------------------------------------

    async def read_json(self, request: Request) -> Json:
        """The body, read within the size and time limits, as a JSON object."""
        headers = request.headers
        length = headers.get("content-length")
        if length is None and "transfer-encoding" not in headers:
            raise RequestError(411, "a Content-Length header is required")
        if length is not None:
            if not _DIGITS.fullmatch(length.strip()):
                raise RequestError(400, f"invalid Content-Length header {length!r}", close=True)
            if int(length) > self.s.max_body_bytes:
                raise RequestError(
                    413,
                    f"the request body is {int(length)} bytes, over the limit of {self.s.max_body_bytes}",
                    close=True,
                )
        chunks: List[bytes] = []
        size = 0
        try:
            with anyio.fail_after(self.s.body_timeout):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > self.s.max_body_bytes:
                        raise RequestError(
                            413, f"the request body is over the limit of {self.s.max_body_bytes} bytes", close=True
                        )
                    chunks.append(chunk)
        except TimeoutError:
            raise RequestError(
                408, f"the request body did not arrive within {self.s.body_timeout:g} s", close=True
            ) from None
        body = parse_body(b"".join(chunks))
        stream = body.get("stream", False)
        if stream is not None and not isinstance(stream, bool):
            raise RequestError(400, f"stream must be a boolean, got {json.dumps(stream)}", param="stream")
        return body

    def _model(self, request: Json) -> str:
        model = request.get("model")
        return model if isinstance(model, str) and model else self.s.model

    # --- running a job ------------------------------------------------------

    async def _answer(self, request: Request, work: Callable[[Job, Json], Optional[Json]]) -> Response:
        """Runs ``work`` in the generator pool; its first item is a whole
        reply (a dict), :data:`STREAMING` (events follow), or its error."""
        try:
            body = await self.read_json(request)
        except RequestError as error:
            return error.response()
        except ClientDisconnect:
            return Response(status_code=499)
        loop = asyncio.get_running_loop()
        job = Job(loop)
        loop.run_in_executor(self.s.pool, job.run, lambda job: work(job, body))
        watcher = loop.create_task(_watch_disconnect(request.receive, job))
        try:
            first = await job.get()
        except BaseException:
            job.stop()
            watcher.cancel()
            raise
        if first is STREAMING:
            return _EventStream(job, watcher, self.s.send_timeout)
        job.stop()
        watcher.cancel()
        if isinstance(first, Failed):
            return _error_response(first.error, request.url.path)
        if first is END:
            return Response(status_code=499)  # stopped before it began: the client is gone
        return JSONResponse(first)

    def _whole(self, run: Run, job: Job, tools: List[str]) -> Optional[Tuple[List[int], List[Message]]]:
        """A whole completion and its messages, parsed leniently (repairs
        logged and counted); None when the client left before it ended."""
        tokens = list(run)
        if job.stopped:
            return None
        messages = self.s.encoding.parse_messages_from_completion_tokens(
            tokens, Role.ASSISTANT, strict=False, tools=tools
        )
        return tokens, messages

    # --- Chat Completions ---------------------------------------------------

    async def chat_completions(self, request: Request) -> Response:
        return await self._answer(request, self._chat)

    def _chat(self, job: Job, request: Json) -> Optional[Json]:
        enc = self.s.encoding
        prompt = prompt_for_chat_completions(enc, request)
        if prompt.n != 1:
            raise RequestError(400, "only n=1 is supported", param="n")
        model = self._model(request)
        wanted = GenerationRequest("chat", request)
        run = Run(self.s.generator, prompt.tokens, prompt.stop_tokens, prompt.max_tokens, job, wanted)

        if not request.get("stream"):
            whole = self._whole(run, job, prompt.tools)
            if whole is None:
                return None
            tokens, messages = whole
            usage = chat_completion_usage(len(prompt.tokens), len(tokens))
            return chat_completion_from_harmony(
                messages, request, finish_reason=run.finish_reason, model=model, usage=usage
            )

        stream = ChatCompletionStream(
            enc, request, model=model, created=int(time.time()), prompt_tokens=len(prompt.tokens)
        )
        run.start()
        if not job.put(STREAMING):
            return None
        for token in run:
            chunks = stream.process(token)
            if chunks and not job.put("".join(_sse(chunk) for chunk in chunks)):
                return None
        tail = "".join(_sse(chunk) for chunk in stream.finish(run.finish_reason))  # with the usage chunk when asked
        job.put(tail + "data: [DONE]\n\n")
        return None

    # --- Responses ----------------------------------------------------------

    async def responses(self, request: Request) -> Response:
        return await self._answer(request, self._responses)

    def _responses(self, job: Job, request: Json) -> Optional[Json]:
        enc = self.s.encoding
        previous: Optional[List[Json]] = None
        previous_id = request.get("previous_response_id")
        if previous_id is not None:
            previous = self.s.store.items(str(previous_id))
            if previous is None:
                raise RequestError(
                    400,
                    f"Previous response with id '{previous_id}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
        prompt = prompt_for_responses(enc, request, previous)
        model = self._model(request)
        wanted = GenerationRequest("responses", request, previous)
        run = Run(self.s.generator, prompt.tokens, prompt.stop_tokens, prompt.max_tokens, job, wanted)
        store = request.get("store", True) is not False

        if not request.get("stream"):
            whole = self._whole(run, job, prompt.tools)
            if whole is None:
                return None
            tokens, messages = whole
            status: Any = run.status
            response = response_from_harmony(messages, request, previous, status=status, model=model)
            response["usage"] = responses_usage(enc, len(prompt.tokens), len(tokens), messages)
            if store:
                self.s.store.put(response, [*(previous or []), *prompt.input_items, *response["output"]])
            return response

        stream = ResponsesStream(enc, request, previous, model=model, prompt_tokens=len(prompt.tokens))
        run.start()
        if not job.put(STREAMING) or not job.put("".join(_sse(e, e["type"]) for e in stream.start())):
            return None
        for token in run:
            events = stream.process(token)
            if events and not job.put("".join(_sse(e, e["type"]) for e in events)):
                return None
        final = stream.finish(run.finish_reason)  # the final response with its usage
        job.put("".join(_sse(e, e["type"]) for e in final))
        if store:
            last = final[-1].get("response") if final else None
            response = last if isinstance(last, dict) else stream.response(run.status)
            self.s.store.put(response, [*(previous or []), *prompt.input_items, *response.get("output", [])])
        return None

    async def stored_response(self, request: Request) -> Response:
        response_id = request.path_params["response_id"]
        if request.method == "DELETE":
            if not self.s.store.delete(response_id):
                return _response_not_found(response_id).response()
            return JSONResponse({"id": response_id, "object": "response", "deleted": True})
        response = self.s.store.response(response_id)
        if response is None:
            return _response_not_found(response_id).response()
        return JSONResponse(response)

    # --- models, metrics ----------------------------------------------------

    def _model_object(self) -> Json:
        return {"id": self.s.model, "object": "model", "created": 0, "owned_by": "openai"}

    async def models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [self._model_object()]})

    async def model(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name != self.s.model:
            error = RequestError(404, f"The model '{name}' does not exist", param="model", code="model_not_found")
            return error.response()
        return JSONResponse(self._model_object())

    async def metrics(self, request: Request) -> Response:
        return PlainTextResponse(metrics_text(), media_type="text/plain; version=0.0.4")


def _error_response(error: BaseException, path: str) -> Response:
    """The reply to what a job raised before its reply started."""
    if isinstance(error, RequestError):
        return error.response()
    if isinstance(error, HarmonyError):
        return RequestError(400, str(error), param=getattr(error, "param", None)).response()
    if isinstance(error, (UnicodeEncodeError, RecursionError)):
        # What no field check caught, still the client's input.
        return RequestError(400, f"invalid request: {error}").response()
    logger.error("error while serving POST %s", path, exc_info=error)
    return RequestError(500, "internal server error", type="server_error").response()


def _response_not_found(response_id: str) -> RequestError:
    return RequestError(404, f"Response with id '{response_id}' not found.", code="not_found")


async def _watch_disconnect(receive: Receive, job: Job) -> None:
    """Stops ``job`` when its client hangs up."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            job.stop()
            job.finish()  # wakes a reader waiting for the next item
            return


class _EventStream(Response):
    """A ``text/event-stream`` reply of what a job hands, sent as it comes."""

    media_type = "text/event-stream"

    def __init__(self, job: Job, watcher: asyncio.Task[None], send_timeout: float) -> None:
        self.job = job
        self.watcher = watcher
        self.send_timeout = send_timeout
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            done = False
            while not done:
                parts: List[str] = []
                for item in await self.job.get_all():
                    if item is END:
                        done = True
                        break
                    if isinstance(item, Failed):
                        logger.error("error while streaming %s", scope.get("path"), exc_info=item.error)
                        raise _CutStream(str(item.error))
                    parts.append(item)
                if parts:
                    with anyio.fail_after(self.send_timeout):
                        body = "".join(parts).encode("utf-8")
                        await send({"type": "http.response.body", "body": body, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.job.stop()
            self.watcher.cancel()
