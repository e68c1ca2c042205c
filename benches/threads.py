#!/usr/bin/env python3
"""Two threads rendering against one, best of N rounds, with the render
cache on and off: `python benches/threads.py [--rounds N] [--renders N]
[--gil-spin-us US]`.

Uses the `medium` conversation of ../shared/bench/workloads.py when it is
there (8 turns, 10 function tools), else a built-in one of similar size."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from openai_harmony import (
    Conversation,
    HarmonyEncodingName,
    Message,
    Role,
    SystemContent,
    _native,
    load_harmony_encoding,
)


def conversation() -> Conversation:
    bench = Path(__file__).resolve().parents[2] / "shared" / "bench"
    if (bench / "workloads.py").exists():
        sys.path.insert(0, str(bench))
        argv, sys.argv = sys.argv, [sys.argv[0]]
        import workloads  # type: ignore[import-not-found]

        sys.argv = argv
        convo: Conversation = workloads.conversation(8, n_tools=10)
        return convo
    msgs = [Message.from_role_and_content(Role.SYSTEM, SystemContent.new())]
    for i in range(8):
        msgs.append(Message.from_role_and_content(Role.USER, f"question {i} " * 60))
        msgs.append(Message.from_role_and_content(Role.ASSISTANT, f"answer {i} " * 150).with_channel("final"))
    return Conversation.from_messages(msgs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--renders", type=int, default=80)
    ap.add_argument("--gil-spin-us", type=int, default=None, help="set_gil_spin_us (0: no spin)")
    a = ap.parse_args()
    if a.gil_spin_us is not None:
        _native.set_gil_spin_us(a.gil_spin_us)
    enc = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    convo = conversation()

    def render_n(n: int) -> None:
        for _ in range(n):
            enc.render_conversation_for_completion(convo, Role.ASSISTANT)

    def timed(threads: int) -> float:
        workers = [threading.Thread(target=render_n, args=(a.renders // threads,)) for _ in range(threads)]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return time.perf_counter() - t0

    for label, capacity in (("cache on", 64 << 20), ("cache off", 0)):
        _native.set_render_cache_capacity(capacity)
        render_n(2)
        one = min(timed(1) for _ in range(a.rounds))
        two = min(timed(2) for _ in range(a.rounds))
        print(
            f"{label:9s}: {a.renders} renders, 1 thread {one * 1e3:7.1f} ms, 2 threads {two * 1e3:7.1f} ms, "
            f"speedup {one / two:.2f}x"
        )


if __name__ == "__main__":
    main()
