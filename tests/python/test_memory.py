"""Memory that matches its budget: the render cache's RSS and a parser that is never drained.

Each check runs in a fresh interpreter, so that memory freed by earlier
tests (which the allocator keeps and reuses) cannot hide growth; the margins
are wide (the cache's budget + 16 MiB). The figures themselves come from
benches/cache_memory.py and benches/parser_memory.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Dict

import pytest

MIB = 1 << 20

PRELUDE = """
import gc, json
from openai_harmony import (
    ContentDelta, Conversation, DeveloperContent, HarmonyEncodingName, Message, Role, StreamableParser,
    ToolDescription, _native, load_harmony_encoding,
)

def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise SystemExit("no VmRSS")

enc = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
"""

CACHE = """
def small(i):
    return [Message.from_role_and_content(Role.USER, f"What is the weather in city number {i} today?")]

def developer(i):
    schema = {"type": "object", "properties": {"unit": {"type": "string", "enum": [f"u_{i}_{k}" for k in range(200)]}}}
    tool = ToolDescription.new("get_weather", f"Weather, variant {i}", parameters=schema)
    return [Message.from_role_and_content(Role.DEVELOPER, DeveloperContent.new().with_function_tools([tool]))]

make = small if KIND == "small" else developer
_native.set_render_cache_capacity(0)
for i in range(50):  # warm up with the cache off
    enc.render_conversation(Conversation.from_messages(make(-1 - i)))
_native.set_render_cache_capacity(BUDGET)
gc.collect()
base = rss()
peak = 0
for i in range(COUNT):
    enc.render_conversation(Conversation.from_messages(make(i)))
    if i % 500 == 0:
        peak = max(peak, rss() - base)
capacity, size = _native.render_cache_info()
print(json.dumps({"capacity": capacity, "size": size, "peak": peak}))
"""

PARSER = """
body = enc.encode("The quick brown fox jumps over the lazy dog. ", allowed_special=set())
chunk_bytes = len(enc.decode(body).encode())
header = enc.encode("<|channel|>final<|message|>", allowed_special="all")
end = enc.encode("<|end|><|start|>assistant", allowed_special="all")
messages, chunks = 100, 2000
gc.collect()
base = rss()
parser = StreamableParser(enc, Role.ASSISTANT)
process = parser.process
for _ in range(messages):
    for t in header:
        process(t)
    for _ in range(chunks):
        for t in body:
            process(t)
    for t in end:
        process(t)
grown = rss() - base
events = parser.drain_events()
print(json.dumps({
    "grown": grown,
    "text": messages * chunks * chunk_bytes,
    "tokens": messages * chunks * len(body),
    "events": len(events),
    "delta_bytes": sum(len(e.text.encode()) for e in events if isinstance(e, ContentDelta)),
}))
"""


def run(script: str) -> Dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", PRELUDE + script], check=True, capture_output=True, text=True)
    result: Dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads VmRSS from /proc")
@pytest.mark.parametrize("kind,count", [("small", 120_000), ("developer", 3_000)])
def test_render_cache_rss_stays_within_its_budget(kind: str, count: int) -> None:
    budget = 8 * MIB
    r = run(f"KIND = {kind!r}\nBUDGET = {budget}\nCOUNT = {count}\n" + CACHE)
    assert r["capacity"] == budget
    # The cache filled up (it rolls over) and reports no more than its budget.
    assert budget // 2 <= r["size"] <= budget, r
    assert r["peak"] <= budget + 16 * MIB, f"RSS grew by {r['peak'] / MIB:.1f} MiB with an 8 MiB budget"
    # What it reports is what it holds (it held three times what it reported when
    # entries were clones of the messages): the growth is within twice the report.
    assert r["peak"] <= 2 * r["size"] + 4 * MIB, r


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads VmRSS from /proc")
def test_an_undrained_parser_holds_its_text_and_tokens() -> None:
    # Code written for the reference never drains events: they must not pile up.
    r = run(PARSER)
    bound = 2 * r["text"] + 4 * r["tokens"] + 4 * MIB
    assert r["grown"] <= bound, f"RSS grew by {r['grown'] / MIB:.1f} MiB for {r['text'] / MIB:.1f} MiB of text"
    # Draining late still gives every event: three a message, the whole text.
    assert r["events"] == 3 * 100
    assert r["delta_bytes"] == r["text"]
