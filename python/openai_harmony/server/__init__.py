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
from pathlib import Path
from typing import Any, List, Optional

try:
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the install
    raise ImportError(
        f"openai_harmony.server needs the [server] extra: pip install 'harmony-codec[server]' ({error.name} is missing)"
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
    "serve_from_arguments",
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
    served_model_name: Optional[str] = None,
    grammar: bool = True,
    threads: int = 1,
    n_ctx: int = 8192,
) -> None:
    """Serves until Ctrl-C or SIGTERM, logging each request: the demo
    generator, or, when ``model`` is a GGUF file, that model in llama.cpp
    (``LlamaGenerator``; ``grammar`` constrains decoding). ``workers`` > 1
    runs that many processes (uvicorn's), each loading the model."""
    if store_entries < 0 or store_mb < 0:
        raise ValueError("--store-entries and --store-mb must not be negative")
    if workers < 1 or threads < 1 or n_ctx < 16:
        raise ValueError("--workers and --threads must be at least 1, --ctx at least 16")
    if not 0 <= port <= 65535:
        raise ValueError(f"--port must be from 0 to 65535, got {port}")
    gguf = _gguf_path(model)
    name = served_model_name or (gguf.stem if gguf is not None else model)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if workers > 1:
        _serve_workers(host, port, name, delay, workers, gguf, grammar, threads, n_ctx)
        return
    encoding = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    generator: Generator
    if gguf is not None:
        from .llama import LlamaEngine, LlamaGenerator

        generator = LlamaGenerator(LlamaEngine(gguf, n_ctx=n_ctx, threads=threads), encoding, constrain=grammar)
        what = f"{gguf} in llama.cpp, grammar {'on' if grammar else 'off'}"
    else:
        generator = demo_generator(encoding, delay)
        what = "demo generator"
    try:
        server = make_server(
            generator,
            host,
            port,
            name,
            encoding=encoding,
            log_requests=True,
            store_entries=store_entries,
            store_bytes=store_mb << 20,
        )
    except OSError as error:
        reason = (error.strerror or str(error)).split(" (while attempting")[0].lower()
        raise ValueError(f"cannot listen on {host}:{port}: {reason}") from None
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM)
    if main:
        signal.signal(signal.SIGTERM, _stop)  # `docker stop`, systemd: a clean stop, as Ctrl-C
    try:
        url = f"http://{host}:{server.port}"
        print(f"serving {name} on {url}/v1 ({what}; Ctrl-C stops); playground: {url}/", flush=True)
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


def _gguf_path(model: str) -> Optional[Path]:
    """``model`` as a GGUF file to load, or None for a served name."""
    path = Path(model)
    if path.suffix.lower() == ".gguf" or path.is_file():
        if not path.is_file():
            raise ValueError(f"--model: no such file {model}")
        return path
    return None


def _serve_workers(
    host: str,
    port: int,
    name: str,
    delay: float,
    workers: int,
    gguf: Optional[Path],
    grammar: bool,
    threads: int,
    n_ctx: int,
) -> None:
    import os

    import uvicorn

    os.environ["HARMONY_DEMO_DELAY"] = str(delay)
    os.environ["HARMONY_MODEL"] = name
    if gguf is not None:
        os.environ["HARMONY_GGUF"] = str(gguf.resolve())
        os.environ["HARMONY_GRAMMAR"] = "1" if grammar else "0"
        os.environ["HARMONY_THREADS"] = str(threads)
        os.environ["HARMONY_CTX"] = str(n_ctx)
    print(f"serving {name} on http://{host}:{port}/v1 with {workers} workers (Ctrl-C stops)", flush=True)
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
    from .._serve_options import add_serve_arguments  # one definition, shared with `harmony serve`

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_serve_arguments(parser)
    serve_from_arguments(parser.parse_args(argv))


def serve_from_arguments(args: argparse.Namespace) -> None:
    """``serve`` with the options ``_serve_options.add_serve_arguments``
    defines (``harmony serve``, ``harmony playground``, ``python -m
    openai_harmony.server``)."""
    serve(
        args.host,
        args.port,
        args.model,
        args.delay,
        store_entries=args.store_entries,
        store_mb=args.store_mb,
        workers=args.workers,
        open_browser=getattr(args, "open", False),
        served_model_name=args.served_model_name,
        grammar=args.grammar,
        threads=args.threads,
        n_ctx=args.ctx,
    )
