#!/usr/bin/env python3
"""`harmony tokenize` throughput: conversations and tokens per second with 1
and 2 workers on a generated file of N conversations (harmony JSONL, or Chat
Completions requests with --from chat), and the peak RSS of each run.

    python benches/tokenize_bench.py [--rows 100000] [--runs 3] [--from harmony|chat]

Each run is a fresh `harmony tokenize` process; the figures are the median
of the runs (runs alternate between worker counts). The time is the one the
command reports (reading, tokenizing and writing Parquet; not the start-up
of the interpreter, reported apart)."""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

from openai_harmony import Author, Conversation, DeveloperContent, Message, Role, SystemContent, ToolDescription

WORDS = "the model reads a long question about weather trains music and code then answers it".split()


def text(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def harmony_row(rng: random.Random) -> str:
    tool = ToolDescription.new(
        "lookup", "Looks things up.", parameters={"type": "object", "properties": {"q": {"type": "string"}}}
    )
    messages = [
        Message.from_role_and_content(Role.SYSTEM, SystemContent.new().with_conversation_start_date("2026-01-01")),
        Message.from_role_and_content(Role.DEVELOPER, DeveloperContent.new().with_function_tools([tool])),
    ]
    for _ in range(rng.randint(1, 3)):
        messages.append(Message.from_role_and_content(Role.USER, text(rng, 5, 60)))
        messages.append(Message.from_role_and_content(Role.ASSISTANT, text(rng, 5, 80)).with_channel("analysis"))
        if rng.random() < 0.3:
            messages.append(
                Message.from_role_and_content(Role.ASSISTANT, json.dumps({"q": text(rng, 1, 4)}))
                .with_channel("commentary")
                .with_recipient("functions.lookup")
                .with_content_type("<|constrain|>json")
            )
            messages.append(
                Message.from_author_and_content(Author.new(Role.TOOL, "functions.lookup"), text(rng, 5, 40))
                .with_channel("commentary")
                .with_recipient("assistant")
            )
        messages.append(Message.from_role_and_content(Role.ASSISTANT, text(rng, 5, 120)).with_channel("final"))
    return Conversation.from_messages(messages).to_json()


def chat_row(rng: random.Random) -> str:
    messages = [{"role": "system", "content": "Be helpful."}]
    for _ in range(rng.randint(1, 3)):
        messages.append({"role": "user", "content": text(rng, 5, 60)})
        messages.append({"role": "assistant", "content": text(rng, 5, 120), "reasoning_content": text(rng, 5, 80)})
    return json.dumps({"messages": messages})


def run(src: Path, out: Path, workers: int, source: str) -> Tuple[float, float, int, int, float]:
    """(reported seconds, wall seconds, rows, tokens, peak RSS MiB) of one run."""
    cmd = [sys.executable, "-m", "openai_harmony.cli", "tokenize", str(src), "-o", str(out)]
    cmd += ["--workers", str(workers), "--from", source, "--date", "2026-01-01", "--no-progress"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read() if proc.stderr else ""
    proc.stderr and proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"harmony tokenize failed: {err}")
    m = re.search(r"([\d,]+) conversations, ([\d,]+) tokens .* in ([\d.]+) s", err)
    if not m:
        raise SystemExit(f"no summary line in: {err!r}")
    rows, tokens, seconds = int(m[1].replace(",", "")), int(m[2].replace(",", "")), float(m[3])
    return seconds, wall, rows, tokens, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--from", dest="source", choices=["harmony", "chat"], default="harmony")
    a = ap.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "conversations.jsonl"
        make = harmony_row if a.source == "harmony" else chat_row
        with open(src, "w", encoding="utf-8") as f:
            for _ in range(a.rows):
                f.write(make(rng) + "\n")
        size = src.stat().st_size
        results: Dict[int, List[Tuple[float, float, int, int, float]]] = {1: [], 2: []}
        for _ in range(a.runs):
            for workers in (1, 2):
                results[workers].append(run(src, Path(tmp) / "out.parquet", workers, a.source))
        out_size = (Path(tmp) / "out.parquet").stat().st_size
    print(f"{a.rows:,} {a.source} conversations, {size / 1e6:.0f} MB of JSONL -> {out_size / 1e6:.0f} MB of Parquet")
    print(f"{'workers':>7s} {'seconds':>8s} {'conv/s':>9s} {'tokens/s':>12s} {'wall s':>7s} {'peak RSS':>9s}")
    medians = {}
    for workers, rs in results.items():
        seconds = statistics.median(r[0] for r in rs)
        rows, tokens = rs[0][2], rs[0][3]
        medians[workers] = seconds
        print(
            f"{workers:7d} {seconds:8.2f} {rows / seconds:9,.0f} {tokens / seconds:12,.0f}"
            f" {statistics.median(r[1] for r in rs):7.2f} {max(r[4] for r in rs):7.0f} MiB"
        )
    print(f"2 workers / 1 worker: {medians[1] / medians[2]:.2f}x")


if __name__ == "__main__":
    main()
