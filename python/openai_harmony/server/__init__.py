"""An OpenAI-compatible server for gpt-oss over ``openai_harmony`` (the
``[server]`` extra: Starlette and uvicorn).

``POST /v1/chat/completions`` and ``POST /v1/responses`` (streaming or not),
``GET``/``DELETE /v1/responses/{id}``, ``GET /v1/models`` and ``GET
/metrics`` (the parse repairs by kind, in Prometheus' text format); the
playground page at ``/`` with its JSON endpoints under ``/harmony/``. The
model is a pluggable *generator*::

    generator(prompt_tokens, stop_tokens, max_tokens) -> Iterable[int]

that yields completion tokens, run in a thread pool off the event loop. The
server stops consuming it at the first stop token, after ``max_tokens``
tokens, or when the client hangs up (it is then closed); a reply that ends
without a stop token finishes with ``length`` (Chat Completions) or
``incomplete`` (Responses). Everything else (prompts, tool names, parsing,
chunks, events, usage) is ``openai_harmony.interop``.

- ``create_app(generator, ...)``: the ASGI app, to run under any ASGI
  server or mount in your own app.
- ``make_server(generator, host, port, ...)``: the app under uvicorn on a
  bound socket, with ``serve_forever()`` / ``shutdown()``.
- ``demo_app``: a factory for ``uvicorn --factory`` with the demo generator.
- ``harmony serve`` (or ``python -m openai_harmony.server``): the demo
  generator, which replays a canned completion (a tool call when the
  request declares tools, else an answer). See docs/server.md.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any, List, Optional

try:
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the install
    raise ImportError(
        "openai_harmony.server needs the [server] extra: pip install 'openai-harmony[server]'"
        f" ({error.name} is missing)"
    ) from error

from .._encoding import HarmonyEncodingName, load_harmony_encoding
from .._mode import parse_mode
from .app import MAX_BODY_BYTES, RequestError, create_app
from .demo import demo_generator
from .jobs import Generator
from .runner import HarmonyHttpProtocol, HarmonyServer, demo_app, make_server
from .store import STORE_BYTES, STORE_ENTRIES, ResponseStore

__all__ = [
    "MAX_BODY_BYTES",
    "Generator",
    "HarmonyHttpProtocol",
    "HarmonyServer",
    "RequestError",
    "ResponseStore",
    "create_app",
    "demo_app",
    "demo_generator",
    "main",
    "make_server",
    "serve",
]


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    model: str = "gpt-oss",
    delay: float = 0.02,
    *,
    store_entries: int = STORE_ENTRIES,
    store_mb: int = STORE_BYTES >> 20,
    workers: int = 1,
    open_browser: bool = False,
) -> None:
    """Serves the demo generator until Ctrl-C or SIGTERM, logging each
    request; ``workers`` > 1 runs that many processes (uvicorn's)."""
    if store_entries < 0 or store_mb < 0:
        raise ValueError("--store-entries and --store-mb must not be negative")
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if workers > 1:
        _serve_workers(host, port, model, delay, workers)
        return
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
        url = f"http://{host}:{server.port}"
        print(f"serving {model} on {url}/v1 (demo generator; Ctrl-C stops); playground: {url}/", flush=True)
        print(
            f"parse mode {parse_mode()} (OPENAI_HARMONY_PARSE); replies are always parsed leniently:"
            " repairs are logged and counted at /metrics",
            flush=True,
        )
        if open_browser:
            import webbrowser

            threading.Timer(0.5, webbrowser.open, (url + "/",)).start()
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if main:
            signal.signal(signal.SIGTERM, previous)


def _serve_workers(host: str, port: int, model: str, delay: float, workers: int) -> None:
    import os

    import uvicorn

    os.environ["HARMONY_DEMO_DELAY"] = str(delay)
    os.environ["HARMONY_MODEL"] = model
    print(f"serving {model} on http://{host}:{port}/v1 with {workers} workers (Ctrl-C stops)", flush=True)
    uvicorn.run(
        "openai_harmony.server:demo_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http="openai_harmony.server:HarmonyHttpProtocol",
        ws="none",
        access_log=False,
        log_config=None,
    )


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Optional[List[str]] = None) -> None:
    """``python -m openai_harmony.server [--host] [--port] [--model] [--delay] ...``."""
    from ..cli import add_serve_arguments  # one definition of the options, with `harmony serve`

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_serve_arguments(parser)
    args = parser.parse_args(argv)
    serve(
        args.host,
        args.port,
        args.model,
        args.delay,
        store_entries=args.store_entries,
        store_mb=args.store_mb,
        workers=args.workers,
    )
