#!/usr/bin/env python3
"""Completion grammars: build time for 1, 10 and 100 tools in each syntax
(lark, gbnf, xgrammar), and llguidance's compile time and mask time per token
with our Lark grammar and with our GBNF (through llguidance's gbnf_to_lark).

    python benches/grammar_bench.py [--tokens N]

The mask is computed at every token of rendered completions (analysis, then
a tool call with JSON arguments), as an engine's sampler would."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import llguidance
import llguidance.tiktoken
import tiktoken

from openai_harmony import (
    Conversation,
    DeveloperContent,
    HarmonyEncoding,
    HarmonyEncodingName,
    Message,
    Role,
    SystemContent,
    ToolDescription,
    load_harmony_encoding,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))
from grammar_cases import gbnf_to_lark_with_tokens


def conversation(n_tools: int) -> Conversation:
    tools = [
        ToolDescription.new(
            f"tool_{i}",
            f"Tool number {i}.",
            parameters={
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "days": {"type": "integer"},
                },
                "required": ["location"],
            },
        )
        for i in range(n_tools)
    ]
    return Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, SystemContent.new()),
            Message.from_role_and_content(Role.DEVELOPER, DeveloperContent.new().with_function_tools(tools)),
            Message.from_role_and_content(Role.USER, "Weather in Oslo?"),
        ]
    )


def lltokenizer(enc: HarmonyEncoding) -> Any:
    ranks = {enc.decode_bytes([r]): r for r in range(199_998)}
    specials = {name: enc.encode(name, allowed_special="all")[0] for name in enc.special_tokens_set}
    te = tiktoken.Encoding(name="o200k_harmony", pat_str=r"\S+|\s+", mergeable_ranks=ranks, special_tokens=specials)
    return llguidance.tiktoken.lltokenizer_from_encoding(te, eos_token=specials["<|return|>"])


def best(fn: Any, repeat: int = 20) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=2000, help="tokens to mask per grammar")
    a = ap.parse_args()
    enc = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    tok = lltokenizer(enc)
    completion: List[int] = []
    thinking = "The user wants the weather in Oslo. " * 8
    completion += enc.render(Message.from_role_and_content(Role.ASSISTANT, thinking).with_channel("analysis"))[2:]
    args = json.dumps({"location": "Oslo, Norway", "unit": "celsius", "days": 3})
    completion += enc.render(
        Message.from_role_and_content(Role.ASSISTANT, args)
        .with_channel("commentary")
        .with_recipient("functions.tool_0")
        .with_content_type("<|constrain|>json")
    )
    rows: Dict[Tuple[int, str], Dict[str, float]] = {}
    for n in (1, 10, 100):
        convo = conversation(n)
        for syntax in ("lark", "gbnf", "xgrammar"):
            grammar = enc.completion_grammar(convo, syntax=syntax)
            build = best(lambda convo=convo, syntax=syntax: enc.completion_grammar(convo, syntax=syntax))
            row = {"build_us": build * 1e6, "grammar_bytes": float(len(grammar))}
            rows[(n, syntax)] = row
            if syntax == "xgrammar":
                continue
            # GBNF leaves the stop token to the engine: mask up to it.
            tokens = completion if syntax == "lark" else completion[:-1]
            lark = grammar if syntax == "lark" else gbnf_to_lark_with_tokens(grammar)
            compiled = llguidance.LLMatcher.grammar_from_lark(lark)
            t0 = time.perf_counter()
            matcher = llguidance.LLMatcher(tok, compiled, log_level=0)
            row["matcher_ms"] = (time.perf_counter() - t0) * 1e3
            assert not matcher.get_error(), matcher.get_error()
            per_token: List[float] = []
            while len(per_token) < a.tokens:
                matcher = llguidance.LLMatcher(tok, compiled, log_level=0)
                for t in tokens:
                    t0 = time.perf_counter()
                    matcher.compute_logit_bias()
                    per_token.append(time.perf_counter() - t0)
                    assert matcher.consume_token(t)
            row["mask_us_median"] = statistics.median(per_token) * 1e6
            row["mask_us_p99"] = sorted(per_token)[int(len(per_token) * 0.99)] * 1e6
    print(
        f"{'tools':>5s} {'syntax':>8s} {'build µs':>9s} {'grammar B':>10s} {'matcher ms':>11s}"
        f" {'mask µs p50':>12s} {'p99':>8s}"
    )
    for (n, syntax), r in rows.items():
        masked = "matcher_ms" in r
        print(
            f"{n:5d} {syntax:>8s} {r['build_us']:9.1f} {r['grammar_bytes']:10.0f}"
            + (f" {r['matcher_ms']:11.2f} {r['mask_us_median']:12.1f} {r['mask_us_p99']:8.1f}" if masked else "")
        )


if __name__ == "__main__":
    main()
