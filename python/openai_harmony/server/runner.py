"""Running the app under uvicorn: in a thread of your program
(``make_server``), from the command line (``serve``, ``harmony serve``),
or under ``uvicorn --factory`` with as many workers as you like."""

from __future__ import annotations

import os
import socket
import threading
from typing import Any, Optional, Tuple, Type

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

from .._encoding import HarmonyEncoding, HarmonyEncodingName, load_harmony_encoding
from .app import BODY_TIMEOUT, GENERATOR_THREADS, MAX_BODY_BYTES, SEND_TIMEOUT, create_app
from .demo import demo_generator
from .jobs import Generator
from .store import STORE_BYTES, STORE_ENTRIES, ResponseStore

HEADER_TIMEOUT = 10.0
"""Seconds a connection may take to send a request's head (from when it
opened, or from the previous reply); then it is closed."""
KEEP_ALIVE_TIMEOUT = 5
"""Seconds an idle keep-alive connection is kept open."""
SHUTDOWN_TIMEOUT = 10
"""Seconds a stopping server waits for replies in flight."""
BACKLOG = 2048
"""The listen backlog: a burst of new connections waits in the kernel's queue."""

_Base: Type[Any]
try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # httptools is not installed: h11
    _Base = H11Protocol


class HarmonyHttpProtocol(_Base):  # type: ignore[misc]
    """uvicorn's HTTP protocol (httptools when installed, else h11) with a
    deadline for a request's head: a connection that opens and sends
    nothing, or drips its headers a byte at a time, is closed after
    ``header_timeout`` seconds. uvicorn's own keep-alive timeout only runs
    while a connection is silent. Use it from the command line with
    ``uvicorn --http openai_harmony.server:HarmonyHttpProtocol``."""

    header_timeout: float = float(os.environ.get("HARMONY_HEADER_TIMEOUT", HEADER_TIMEOUT))
    _head_deadline: Optional[Any] = None

    def connection_made(self, transport: Any) -> None:
        """A new connection: its first request's head is due within the deadline."""
        super().connection_made(transport)
        self._arm_head_deadline()

    def on_response_complete(self) -> None:
        """A reply was sent: the next request's head is due within the deadline."""
        super().on_response_complete()
        self._arm_head_deadline()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        """The connection closed: no deadline left."""
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        self._head_deadline = self.loop.call_later(self.header_timeout, self._head_expired)

    def _head_expired(self) -> None:
        self._head_deadline = None
        # A request whose head arrived is the app's (which has its own
        # deadlines); one still waiting for its head is cut.
        cycle = self.cycle
        if (cycle is None or cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()


class HarmonyServer:
    """The app served by uvicorn on a socket bound at construction, with
    ``http.server``'s interface: ``serve_forever()`` (in the calling
    thread), ``shutdown()`` (from another thread; waits until it stopped),
    ``server_close()``, ``server_address`` and ``port``."""

    def __init__(
        self,
        app: Starlette,
        address: Tuple[str, int],
        *,
        header_timeout: float = HEADER_TIMEOUT,
        keep_alive_timeout: int = KEEP_ALIVE_TIMEOUT,
        shutdown_timeout: int = SHUTDOWN_TIMEOUT,
        backlog: int = BACKLOG,
    ) -> None:
        self.app = app
        self.request_queue_size = backlog  # the listen backlog (http.server's name for it)
        host, port = address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.create_server((host, port), family=family, backlog=backlog)
        self.server_address: Tuple[str, int] = tuple(self.socket.getsockname()[:2])
        protocol = type("HarmonyHttpProtocol", (HarmonyHttpProtocol,), {"header_timeout": header_timeout})
        config = uvicorn.Config(
            app,
            http=protocol,
            ws="none",
            lifespan="on",
            log_config=None,  # the host program's logging stays as it is
            access_log=False,  # `log_requests` logs each request instead
            timeout_keep_alive=keep_alive_timeout,
            timeout_graceful_shutdown=shutdown_timeout,
            backlog=backlog,
        )
        self._server = uvicorn.Server(config)
        self._stopped = threading.Event()
        self._stopped.set()

    @property
    def port(self) -> int:
        """The port the server listens on (the one chosen when bound to port 0)."""
        return int(self.server_address[1])

    @property
    def settings(self) -> Any:
        """The app's settings (generator, encoding, limits, response store)."""
        return self.app.state.harmony

    @property
    def responses(self) -> ResponseStore:
        """The stored Responses (bounded; see ``create_app``)."""
        store: ResponseStore = self.app.state.harmony.store
        return store

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serves until ``shutdown()`` (or, in the main thread, Ctrl-C or
        SIGTERM). ``poll_interval`` is accepted for ``http.server``'s
        signature; uvicorn checks for a stop every 0.1 s."""
        self._stopped.clear()
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stops ``serve_forever`` and waits until it returned."""
        self._server.should_exit = True
        self._stopped.wait()

    def server_close(self) -> None:
        """Closes the listening socket."""
        self.socket.close()


def make_server(
    generator: Generator,
    host: str = "127.0.0.1",
    port: int = 0,
    model: str = "gpt-oss",
    *,
    encoding: Optional[HarmonyEncoding] = None,
    log_requests: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout: float = BODY_TIMEOUT,
    send_timeout: float = SEND_TIMEOUT,
    header_timeout: float = HEADER_TIMEOUT,
    keep_alive_timeout: int = KEEP_ALIVE_TIMEOUT,
    generator_threads: int = GENERATOR_THREADS,
    store_entries: int = STORE_ENTRIES,
    store_bytes: int = STORE_BYTES,
    playground_page: bool = True,
) -> HarmonyServer:
    """A server bound to ``host:port`` (port 0: any free port, see ``.port``)
    around ``generator``; run it with ``serve_forever()``. The options are
    ``create_app``'s, and the connection deadlines of ``HarmonyServer``."""
    app = create_app(
        generator,
        model=model,
        encoding=encoding,
        log_requests=log_requests,
        max_body_bytes=max_body_bytes,
        body_timeout=body_timeout,
        send_timeout=send_timeout,
        generator_threads=generator_threads,
        store_entries=store_entries,
        store_bytes=store_bytes,
        playground_page=playground_page,
    )
    return HarmonyServer(app, (host, port), header_timeout=header_timeout, keep_alive_timeout=keep_alive_timeout)


def demo_app() -> Starlette:
    """The app for ``uvicorn --factory``, configured from the environment::

        uvicorn --factory openai_harmony.server:demo_app --workers 4 \\
            --http openai_harmony.server:HarmonyHttpProtocol

    ``HARMONY_GGUF`` names a GGUF model to run in llama.cpp (with
    ``HARMONY_GRAMMAR`` 0 or 1, ``HARMONY_THREADS``, ``HARMONY_CTX``);
    without it the demo generator serves, ``HARMONY_DEMO_DELAY`` seconds
    between tokens (default 0). ``HARMONY_MODEL`` is the served name
    (default ``gpt-oss``)."""
    encoding = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    model = os.environ.get("HARMONY_MODEL", "gpt-oss")
    gguf = os.environ.get("HARMONY_GGUF")
    generator: Generator
    if gguf:
        from .llama import LlamaEngine, LlamaGenerator

        engine = LlamaEngine(
            gguf, n_ctx=int(os.environ.get("HARMONY_CTX", "8192")), threads=int(os.environ.get("HARMONY_THREADS", "1"))
        )
        generator = LlamaGenerator(engine, encoding, constrain=os.environ.get("HARMONY_GRAMMAR", "1") != "0")
    else:
        generator = demo_generator(encoding, float(os.environ.get("HARMONY_DEMO_DELAY", "0")))
    return create_app(generator, model=model, encoding=encoding, log_requests=True)
