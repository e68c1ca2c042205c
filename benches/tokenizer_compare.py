#!/usr/bin/env python3
"""Our `encode` against bpe-openai's `encode_ordinary` (the rust-gems BPE
crate's Python package), side by side in one run, on the shared corpus.

    python benches/tokenizer_compare.py [--ours PYTHON] [--bpe PYTHON] [--rounds N]

Each interpreter encodes every text in a child process, the two alternating
round by round; the best time of each is kept. The tokens must be identical
(compared by digest), or the run fails. `make bench-tokenizer` installs
bpe-openai into .venv-bpe and runs this.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "bench" / "corpus"

CHILD = r"""
import hashlib, json, sys, time
from pathlib import Path
which, corpus, repeat = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.txt"))}
texts["corpus"] = "".join(texts[k] for k in sorted(texts))
texts["run_a_100k"] = "a" * 100_000
if which == "ours":
    from openai_harmony import HarmonyEncodingName, load_harmony_encoding
    encode = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS).encode
else:
    import bpe_openai
    encode = bpe_openai.get_encoding("o200k_base").encode_ordinary
out = {}
for name, text in texts.items():
    tokens = encode(text)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        encode(text)
        best = min(best, time.perf_counter() - t0)
    digest = hashlib.sha256(json.dumps(list(tokens)).encode()).hexdigest()[:16]
    out[name] = {"bytes": len(text.encode()), "tokens": len(tokens), "seconds": best, "digest": digest}
print(json.dumps(out))
"""


def run(python: str, which: str, repeat: int) -> Dict[str, Dict[str, float]]:
    args = [os.path.abspath(python), "-c", CHILD, which, str(CORPUS), str(repeat)]
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    result: Dict[str, Dict[str, float]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", default=str(ROOT / ".venv" / "bin" / "python"))
    ap.add_argument("--bpe", default=str(ROOT / ".venv-bpe" / "bin" / "python"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--figures", action="store_true", help="write the corpus ratio into docs/figures.json")
    a = ap.parse_args()
    if not CORPUS.is_dir():
        print(f"{CORPUS} not found", file=sys.stderr)
        return 2
    best: Dict[str, Dict[str, Dict[str, float]]] = {"ours": {}, "bpe": {}}
    for i in range(a.rounds):
        print(f"round {i + 1}/{a.rounds} ...", file=sys.stderr)
        for which, python in (("ours", a.ours), ("bpe", a.bpe)):
            for name, r in run(python, which, a.repeat).items():
                kept = best[which].get(name)
                if kept is None or r["seconds"] < kept["seconds"]:
                    best[which][name] = r
    ours, bpe = best["ours"], best["bpe"]
    failed: List[str] = []
    print(f"{'text':12s} {'kB':>8s} {'ours MB/s':>10s} {'bpe MB/s':>10s} {'ratio':>7s}  tokens")
    for name in ours:
        o, b = ours[name], bpe[name]
        same = o["digest"] == b["digest"]
        if not same:
            failed.append(name)
        mbs = lambda r: r["bytes"] / r["seconds"] / 1e6  # noqa: E731
        print(
            f"{name:12s} {o['bytes'] / 1e3:8.1f} {mbs(o):10.1f} {mbs(b):10.1f} {mbs(o) / mbs(b):6.2f}x"
            f"  {'identical' if same else 'DIFFERENT'} ({int(o['tokens'])})"
        )
    per_byte = lambda r: r["seconds"] / r["bytes"]  # noqa: E731
    run_cost = per_byte(ours["run_a_100k"]) / per_byte(ours["corpus"])
    print(f"a run of one letter costs {run_cost:.2f}x per byte what the corpus does")
    if a.figures and not failed:
        sys.path.insert(0, str(ROOT / "benches"))
        import figures

        corpus = mbs(ours["corpus"]) / mbs(bpe["corpus"])
        rows = {name: {"ours_mb_s": mbs(ours[name]), "bpe_mb_s": mbs(bpe[name])} for name in ours}
        values = {
            "corpus_ratio": corpus,
            "run_100k_ms": ours["run_a_100k"]["seconds"] * 1000,
            "run_cost": run_cost,
            "rows": rows,
        }
        figures.update("tokenizer", values, f"benches/tokenizer_compare.py, best of {a.repeat} x {a.rounds} rounds")
    if failed:
        print(f"tokens differ on: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
