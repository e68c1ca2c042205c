#!/usr/bin/env python3
"""Runs ../shared/bench/workloads.py against our build and, when a venv with
the reference wheel is given, against the reference too, alternating the
two, and prints the medians and the ratios against the issue's targets.

    python benches/compare.py [--ours PYTHON] [--ref PYTHON] [--runs N] [--quick] [--figures]

--figures (with --ref) also runs benches/extra_workloads.py (cold rendering)
under both, and writes the medians into docs/figures.json, the one source of
the figures the docs quote (benches/figures.py then rewrites the docs).

--ref is the python of a venv where `pip install openai-harmony==0.0.8` was
run; it gets TIKTOKEN_ENCODINGS_BASE=../shared/vocab so it runs offline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
WORKLOADS = SHARED / "bench" / "workloads.py"

# workload: (target, "ratio" = ours/ref >= target, "inverse" = ref/ours >= target, "absolute" = ours >= target)
TARGETS = {
    "render_small_tokens_per_s": (3.0, "ratio"),
    "render_medium_tokens_per_s": (3.0, "ratio"),
    "render_large_tokens_per_s": (3.0, "ratio"),
    "parse_batch_tokens_per_s": (3.0, "ratio"),
    "stream_parse_tokens_per_s": (3.0, "ratio"),
    "stream_poll_messages_tokens_per_s": (10.0, "ratio"),
    "render_growing_history_turns_per_s": (20.0, "ratio"),
    "load_encoding_first_ms": (4.0, "inverse"),
    "two_thread_render_speedup": (1.7, "absolute"),
}


def run(python: str, quick: bool, env: Optional[Dict[str, str]] = None) -> Dict[str, float]:
    # Absolute (not resolved: a venv's python is a symlink), as the run's cwd differs.
    args = [os.path.abspath(python), str(WORKLOADS), "--json"] + (["--quick"] if quick else [])
    full_env = dict(os.environ, **(env or {}))
    out = subprocess.run(args, check=True, capture_output=True, text=True, env=full_env, cwd=WORKLOADS.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_extra(python: str, env: Optional[Dict[str, str]] = None) -> Dict[str, float]:
    args = [os.path.abspath(python), str(ROOT / "benches" / "extra_workloads.py"), "--json", "--no-long"]
    out = subprocess.run(args, check=True, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
    return json.loads(out.stdout.strip().splitlines()[-1])


def medians(runs: List[Dict[str, float]]) -> Dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", default=str(ROOT / ".venv" / "bin" / "python"))
    ap.add_argument("--ref", default=os.environ.get("REF_PYTHON"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--figures", action="store_true", help="write the medians into docs/figures.json (needs --ref)")
    a = ap.parse_args()
    if not WORKLOADS.exists():
        print(f"{WORKLOADS} not found", file=sys.stderr)
        return 2
    ref_env = {"TIKTOKEN_ENCODINGS_BASE": str(SHARED / "vocab")}
    ours_runs, ref_runs = [], []
    for i in range(a.runs):
        print(f"run {i + 1}/{a.runs} ...", file=sys.stderr)
        ours_runs.append(run(a.ours, a.quick))
        if a.ref:
            ref_runs.append(run(a.ref, a.quick, ref_env))
    ours = medians(ours_runs)
    ref = medians(ref_runs) if ref_runs else None
    print(f"{'workload':36s} {'ours':>14s} {'reference':>14s} {'ratio':>8s} {'target':>8s}")
    for key, value in ours.items():
        line = f"{key:36s} {value:14.1f}"
        if ref is not None:
            line += f" {ref[key]:14.1f}"
            target = TARGETS.get(key)
            if target is not None:
                goal, how = target
                ratio = {"ratio": value / ref[key], "inverse": ref[key] / value, "absolute": value}[how]
                label = {"ratio": "x", "inverse": "x less", "absolute": " abs"}[how]
                mark = "ok" if ratio >= goal else "MISSED"
                line += f" {ratio:7.1f}{label} >= {goal:g} {mark}"
        print(line)
    if a.figures and ref is not None:
        sys.path.insert(0, str(ROOT / "benches"))
        import figures

        note = f"benches/compare.py, median of {a.runs} runs each, alternating, against openai-harmony 0.0.8"
        figures.update("workloads", {"ours": ours, "reference": ref}, note)
        cold_ours, cold_ref = [], []
        for _ in range(a.runs):
            cold_ours.append(run_extra(a.ours)["cold_render_tokens_per_s"])
            cold_ref.append(run_extra(a.ref, ref_env)["cold_render_tokens_per_s"])
        o, r = statistics.median(cold_ours), statistics.median(cold_ref)
        figures.update(
            "cold",
            {"ours": o, "reference": r, "ratio": o / r},
            f"benches/extra_workloads.py cold_render_tokens_per_s, median of {a.runs} runs each",
        )
        print(f"cold rendering: {o / r:.1f}x; wrote docs/figures.json (python benches/figures.py rewrites the docs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
