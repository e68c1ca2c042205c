"""Workloads of ours beside ../shared/bench/workloads.py, through the public
openai_harmony API only, so that the reference runs them too.

    python benches/extra_workloads.py [--json] [--quick] [--no-long]

- cold_render_tokens_per_s: conversations rendered once each, every message
  new (nothing a render cache could hold: unique system dates, tools,
  instructions and turns), as in training data or a server's first requests.
- cold_encode_tokens_per_s: the same conversations' texts encoded as plain
  text, for the renderer's share of the cold cost.
- encode_plain_bytes_per_s / long_run_bytes_per_s: ordinary text against a
  run of one letter ("a" * 100,000 bytes) per byte; --no-long skips the run
  (the reference takes seconds on it).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "bench"))
_argv, sys.argv = sys.argv, [sys.argv[0]] + (["--quick"] if "--quick" in sys.argv else [])
import workloads  # type: ignore[import-not-found]  # noqa: E402

sys.argv = _argv

from openai_harmony import (  # noqa: E402
    Conversation,
    DeveloperContent,
    HarmonyEncodingName,
    Message,
    ReasoningEffort,
    Role,
    SystemContent,
    load_harmony_encoding,
)

QUICK = "--quick" in sys.argv


def unique_conversation(i: int, turns: int) -> Conversation:
    """workloads.conversation with every message unique to conversation i."""
    base = workloads.conversation(turns, n_tools=10)
    msgs = list(base.messages)
    msgs[0] = Message.from_role_and_content(
        Role.SYSTEM,
        SystemContent.new()
        .with_reasoning_effort(ReasoningEffort.HIGH)
        .with_conversation_start_date(f"20{10 + i // 365 % 80:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}"),
    )
    msgs[1] = Message.from_role_and_content(
        Role.DEVELOPER,
        DeveloperContent.new()
        .with_instructions(f"Conversation {i}. " + workloads.text(60))
        .with_function_tools(workloads.tools(10)),
    )
    return Conversation.from_messages(msgs)


def best_rate(fn: Callable[[], Any], units: float, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return units / best


def main() -> None:
    enc = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    results: List[Tuple[str, float, str]] = []

    n_convs = 12 if QUICK else 40
    rounds = 3
    batches = [[unique_conversation(r * 1000 + i, 8) for i in range(n_convs)] for r in range(rounds)]
    n_tokens = sum(len(enc.render_conversation_for_completion(c, Role.ASSISTANT)) for c in batches[0])
    # Warm-up on conversations of their own, then each batch once: nothing repeats.
    for c in [unique_conversation(10**6 + i, 8) for i in range(3)]:
        enc.render_conversation_for_completion(c, Role.ASSISTANT)
    cold = 0.0
    for batch in batches[1:]:
        t0 = time.perf_counter()
        for c in batch:
            enc.render_conversation_for_completion(c, Role.ASSISTANT)
        cold = max(cold, n_tokens / (time.perf_counter() - t0))
    results.append(("cold_render_tokens_per_s", cold, "tok/s"))

    # The texts of those conversations, encoded as plain text.
    texts: List[str] = []
    for c in batches[0]:
        for m in c.messages:
            for part in m.content:
                texts.append(getattr(part, "text", None) or json.dumps(part.to_dict()))
    n_text = sum(len(enc.encode(t)) for t in texts)
    results.append(("cold_encode_tokens_per_s", best_rate(lambda: [enc.encode(t) for t in texts], n_text, 5), "tok/s"))

    plain = workloads.text(20000)
    results.append(("encode_plain_bytes_per_s", best_rate(lambda: enc.encode(plain), len(plain.encode()), 5), "B/s"))
    if "--no-long" not in sys.argv:
        run = "a" * 100_000
        results.append(("long_run_bytes_per_s", best_rate(lambda: enc.encode(run), len(run), 3), "B/s"))

    if "--json" in sys.argv:
        print(json.dumps({k: v for k, v, _ in results}))
    else:
        for k, v, u in results:
            print(f"{k:32s} {v:14.1f} {u}")


if __name__ == "__main__":
    main()
