"""Server benchmark: requests per second and p50/p99 latency for short chat
completions (the demo generator, no delay), one server process on
loopback, against today's server (the ASGI app under uvicorn) and the
``http.server`` one it replaced (commit BASELINE, read from git).

    python benches/server_bench.py [--requests 2000] [--concurrency 16] [--rounds 3]

Each round runs every server in turn (fresh process, warm-up first) with
the same client: an asyncio loop of ``--concurrency`` keep-alive
connections. The figures are the median round's. Unstreamed and streamed
replies are measured apart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Tuple

BASELINE = "0e73934"  # the last commit of the http.server server
ROOT = Path(__file__).resolve().parent.parent
CHAT = {"model": "gpt-oss", "messages": [{"role": "user", "content": "Hi"}]}


def baseline_dir() -> Path:
    """The baseline server's source, from git, importable as ``legacy_server``."""
    where = Path(tempfile.mkdtemp(prefix="harmony-baseline-"))
    for name, module in (("server.py", "legacy_server"), ("_store.py", "legacy_store")):
        text = subprocess.run(
            ["git", "show", f"{BASELINE}:python/openai_harmony/{name}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        text = text.replace("from ._store import", "from legacy_store import").replace("from .", "from openai_harmony.")
        (where / f"{module}.py").write_text(text)
    return where


LAUNCH = {
    "asgi": (
        "from openai_harmony import server as s\n"
        "srv = s.make_server(s.demo_generator(), '127.0.0.1', {port})\n"
        "srv.serve_forever()\n"
    ),
    "http.server": (
        "import legacy_server as s\nsrv = s.make_server(s.demo_generator(), '127.0.0.1', {port})\nsrv.serve_forever()\n"
    ),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(kind: str, baseline: Path) -> Tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(baseline))
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH[kind].format(port=port)], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2).read()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the {kind} server did not start")


async def _read_reply(reader: asyncio.StreamReader) -> int:
    """Reads one reply (Content-Length or chunked); its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _load(port: int, requests: int, concurrency: int, stream: bool) -> Tuple[float, List[float]]:
    body = json.dumps({**CHAT, "stream": stream}).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: List[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while remaining > 0:
                remaining -= 1
                began = time.perf_counter()
                writer.write(request)
                status = await _read_reply(reader)
                if status != 200:
                    raise SystemExit(f"status {status}")
                latencies.append(time.perf_counter() - began)
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - began, latencies


def measure(kind: str, baseline: Path, requests: int, concurrency: int, stream: bool) -> Dict[str, float]:
    proc, port = start(kind, baseline)
    try:
        asyncio.run(_load(port, max(requests // 10, 50), concurrency, stream))  # warm-up
        elapsed, latencies = asyncio.run(_load(port, requests, concurrency, stream))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--figures", action="store_true", help="write the medians into docs/figures.json")
    args = parser.parse_args()
    baseline = baseline_dir()
    print(
        f"server benchmark: {args.requests} short chat completions (demo generator), {args.concurrency} keep-alive"
        f" connections, one server process on loopback, median of {args.rounds} rounds ({os.cpu_count()} cores)"
    )
    print(f"{'server':<28}{'reply':<10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    figures: Dict[str, Dict[str, Dict[str, float]]] = {}
    for stream in (False, True):
        results: Dict[str, List[Dict[str, float]]] = {"asgi": [], "http.server": []}
        for _ in range(args.rounds):
            for kind in results:
                results[kind].append(measure(kind, baseline, args.requests, args.concurrency, stream))
        medians = {}
        for kind, runs in results.items():
            median = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
            medians[kind] = median
            name = "ASGI (uvicorn)" if kind == "asgi" else f"http.server ({BASELINE})"
            reply = "streamed" if stream else "whole"
            print(f"{name:<28}{reply:<10}{median['rps']:>9.0f}{median['p50']:>9.2f}{median['p99']:>9.2f}")
        figures["streamed" if stream else "whole"] = medians
        ours, base = medians["asgi"], medians["http.server"]
        print(
            f"  ASGI / http.server: {ours['rps'] / base['rps']:.2f}x the requests per second,"
            f" p50 {ours['p50'] / base['p50']:.2f}x, p99 {ours['p99'] / base['p99']:.2f}x"
        )
    if args.figures:
        sys.path.insert(0, str(ROOT / "benches"))
        import figures as docs_figures

        note = (
            f"`benches/server_bench.py` ({args.requests} short chat completions with the demo generator,"
            f" {args.concurrency} keep-alive connections from one asyncio client, one server process on loopback,"
            f" {os.cpu_count()} cores, median of {args.rounds} rounds; `http.server` is commit {BASELINE})"
        )
        docs_figures.update("server", figures, note)


if __name__ == "__main__":
    main()
