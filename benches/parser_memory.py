#!/usr/bin/env python3
"""RSS of a StreamableParser that is never drained, against its messages' text.

Streams TOKENS tokens of long assistant messages (one long message, or many
messages of `--message-tokens` each) through `StreamableParser.process`
without ever calling `drain_events`, as code written for the reference does,
and prints the RSS growth next to the text held by the messages (and the
message in progress) and the 4 bytes a token of the recorded `tokens`.

    python benches/parser_memory.py [--tokens N] [--message-tokens N]

The goal: growth <= 2 x text + tokens x 4 + 4 MiB.
"""

from __future__ import annotations

import argparse
import gc
import sys

from openai_harmony import HarmonyEncodingName, Role, StreamableParser, load_harmony_encoding

MIB = 1 << 20


def rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=3_000_000)
    ap.add_argument("--message-tokens", type=int, default=0, help="0: one message of all the tokens")
    a = ap.parse_args()
    enc = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    body = enc.encode(
        "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. ", allowed_special=set()
    )
    chunk_bytes = len(enc.decode(body).encode())
    header = enc.encode("<|channel|>final<|message|>", allowed_special="all")
    end = enc.encode("<|end|><|start|>assistant", allowed_special="all")
    # Warm up the parser's code paths and the allocator.
    warm = StreamableParser(enc, Role.ASSISTANT)
    for t in header + body * 100 + end:
        warm.process(t)
    del warm
    gc.collect()
    base = rss()
    parser = StreamableParser(enc, Role.ASSISTANT)
    process = parser.process
    step = a.tokens // 6
    per_message = a.message_tokens or a.tokens
    fed = 0
    print(f"# baseline RSS {base / MIB:.1f} MiB; {per_message} tokens a message")
    print(f"{'tokens':>10} {'rss growth MiB':>15} {'text MiB':>9} {'tokens MiB':>11} {'excess B/token':>15}")
    next_report = step
    while fed < a.tokens:
        for t in header:
            process(t)
        in_message = 0
        while in_message < per_message and fed < a.tokens:
            for t in body:
                process(t)
            in_message += len(body)
            fed += len(body)
            if fed >= next_report:
                next_report += step
                report(base, fed, fed // len(body) * chunk_bytes)
        if fed < a.tokens:
            for t in end:
                process(t)
    report(base, fed, fed // len(body) * chunk_bytes)
    return 0


def report(base: int, fed: int, text: int) -> None:
    """`text`: bytes of content text so far (every chunk decodes to the same text)."""
    tokens = 4 * fed
    grown = rss() - base
    excess = (grown - text - tokens) / fed
    print(f"{fed:>10} {grown / MIB:>15.1f} {text / MIB:>9.1f} {tokens / MIB:>11.1f} {excess:>15.1f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
