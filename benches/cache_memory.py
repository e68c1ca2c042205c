#!/usr/bin/env python3
"""RSS of the render cache against its budget.

Renders unique messages through the public API until the process RSS levels
off, printing the RSS growth over the baseline (after loading the encoding
and warming up) next to what the cache reports (`render_cache_info`).

    python benches/cache_memory.py [--kind small|developer|both] [--budget-mib N] [--count N]

Two kinds: small unique user messages, and developer messages with a
function tool whose schema holds a large enum (each message unique). The
cache keeps at most its budget; the process should stay within the budget
plus 16 MiB.
"""

from __future__ import annotations

import argparse
import gc
import sys
from typing import Callable, List

from openai_harmony import (
    Conversation,
    DeveloperContent,
    HarmonyEncodingName,
    Message,
    Role,
    ToolDescription,
    _native,
    load_harmony_encoding,
)

MIB = 1 << 20


def rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def small(i: int) -> List[Message]:
    return [Message.from_role_and_content(Role.USER, f"What is the weather in city number {i} today?")]


def developer(i: int) -> List[Message]:
    schema = {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "The city"},
            "unit": {"type": "string", "enum": [f"unit_{i}_{k}" for k in range(200)]},
        },
        "required": ["location"],
    }
    tool = ToolDescription.new("get_weather", f"Weather, variant {i}", parameters=schema)
    dev = DeveloperContent.new().with_instructions("Answer briefly.").with_function_tools([tool])
    return [Message.from_role_and_content(Role.DEVELOPER, dev)]


def measure(kind: str, make: Callable[[int], List[Message]], count: int, step: int) -> None:
    enc = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    budget = _native.render_cache_info()[0]
    # Warm up (pydantic, the tokenizer, the allocator) with the cache off, so
    # the baseline holds no freed cache memory.
    _native.set_render_cache_capacity(0)
    for i in range(200):
        enc.render_conversation(Conversation.from_messages(make(-1 - i)))
    _native.set_render_cache_capacity(budget)
    gc.collect()
    base = rss()
    print(f"# {kind}: budget {budget / MIB:.1f} MiB, baseline RSS {base / MIB:.1f} MiB")
    print(f"{'messages':>10} {'rss growth MiB':>15} {'reported MiB':>13} {'rss/reported':>13}")
    tokens = 0
    peak = 0
    for i in range(count):
        tokens += len(enc.render_conversation(Conversation.from_messages(make(i))))
        if (i + 1) % step == 0:
            grown = rss() - base
            peak = max(peak, grown)
            reported = _native.render_cache_info()[1]
            ratio = grown / reported if reported else float("nan")
            print(f"{i + 1:>10} {grown / MIB:>15.1f} {reported / MIB:>13.1f} {ratio:>13.2f}", flush=True)
    allowed = f"budget {budget / MIB:.1f} MiB + 16 MiB allowed"
    print(f"# {kind}: peak RSS growth {peak / MIB:.1f} MiB ({allowed}); {tokens} tokens")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=["small", "developer"], default="small")
    ap.add_argument("--budget-mib", type=float, default=None, help="set the cache budget first (default: leave it)")
    ap.add_argument("--count", type=int, default=None)
    a = ap.parse_args()
    if a.budget_mib is not None:
        _native.set_render_cache_capacity(int(a.budget_mib * MIB))
    if a.kind == "small":
        measure("small user messages", small, a.count or 1_500_000, 100_000)
    else:
        measure("developer messages, 200-value enums", developer, a.count or 60_000, 5_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
