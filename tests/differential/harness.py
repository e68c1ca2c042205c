"""Differential harness: this package against the reference wheel.

Usage: python harness.py --ref REF_PYTHON [--ours OUR_PYTHON] [-n N] [--seed S] [--show K]

Generates N seeded cases (``gen.py``), runs them through ``runner.py`` under
both interpreters at once (the reference in its own virtual environment,
never imported here), and compares every output exactly: tokens, errors
(type and message), per-token parser state, messages.

A difference is either explained by a deliberate deviation listed in
``test-data/deviations.md`` (``deviations.py`` holds the rule for each
family), or it is undocumented and the run fails. The run also fails when a
listed family is never seen, so the list cannot go stale.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import deviations  # noqa: E402
import gen  # noqa: E402

ROOT = HERE.parents[1]


def run_side(python: str, cases: Path, out: Path, env: Dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([python, str(HERE / "runner.py"), str(cases), str(out)], env=env)


def read(path: Path) -> List[Dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def short(x: Any, n: int = 600) -> str:
    s = json.dumps(x, ensure_ascii=False)
    return s if len(s) <= n else s[:n] + "…"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True, help="python of a venv with openai-harmony==0.0.8")
    ap.add_argument("--ours", default=sys.executable)
    ap.add_argument("-n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--show", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2, help="processes per side")
    ap.add_argument("--save", help="write the undocumented differences here (JSON lines: case, ref, ours)")
    a = ap.parse_args()

    vocab = os.environ.get("TIKTOKEN_ENCODINGS_BASE") or str((ROOT.parent / "shared" / "vocab").resolve())
    env = dict(os.environ, TIKTOKEN_ENCODINGS_BASE=vocab)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        all_cases = list(gen.cases(a.seed, a.n))
        chunks = max(1, a.jobs)
        procs = []
        for k in range(chunks):
            cf = tmpd / f"cases{k}.jsonl"
            with cf.open("w", encoding="utf-8") as f:
                for c in all_cases[k::chunks]:
                    f.write(json.dumps(c, ensure_ascii=False) + "\n")
            procs.append(run_side(a.ref, cf, tmpd / f"ref{k}.jsonl", env))
            procs.append(run_side(a.ours, cf, tmpd / f"ours{k}.jsonl", env))
        codes = [p.wait() for p in procs]
        if any(codes):
            print(f"diff-ref: a runner failed (exit codes {codes})")
            return 2
        ref: Dict[str, Any] = {}
        ours: Dict[str, Any] = {}
        for k in range(chunks):
            ref.update((r["id"], r["out"]) for r in read(tmpd / f"ref{k}.jsonl"))
            ours.update((r["id"], r["out"]) for r in read(tmpd / f"ours{k}.jsonl"))

    kinds: Counter[str] = Counter()
    same: Counter[str] = Counter()
    explained: Counter[str] = Counter()
    undocumented: List[Any] = []
    for case in all_cases:
        cid = case["id"]
        kinds[case["kind"]] += 1
        r, o = ref[cid], ours[cid]
        repairs = o.pop("repairs", None) if isinstance(o, dict) else None
        if r == o:
            same[case["kind"]] += 1
            continue
        family = deviations.explain(case, r, o, repairs or [])
        if family is None:
            undocumented.append((case, r, o))
        else:
            explained[family] += 1

    if a.save:
        with open(a.save, "w", encoding="utf-8") as f:
            for case, r, o in undocumented:
                f.write(json.dumps({"case": case, "ref": r, "ours": o}, ensure_ascii=False) + "\n")
    listed = deviations.listed_families(ROOT / "test-data" / "deviations.md")
    still_open = deviations.open_families(ROOT / "test-data" / "deviations.md")
    unknown = sorted(set(explained) - listed - still_open)
    unseen = sorted(listed - set(explained))
    open_seen = {k: explained[k] for k in sorted(still_open & set(explained))}
    if open_seen:
        print(f"diff-ref: OPEN differences still to fix: {open_seen}")
    elapsed = time.perf_counter() - start
    for case, r, o in undocumented[: a.show]:
        print(f"UNDOCUMENTED {case['id']} ({case['kind']})")
        print(f"  case: {short(case, 1500)}")
        for line in deviations.describe(case, r, o):
            print(f"  {line}")
    print(
        "diff-ref: "
        + ", ".join(f"{k} {same[k]}/{kinds[k]} identical" for k in sorted(kinds))
        + f"; explained by deviations: {dict(sorted(explained.items())) or 'none'}"
    )
    ok = not undocumented and not unknown and (not unseen or a.n < 20000)
    if unknown:
        print(f"diff-ref: families used but not listed in test-data/deviations.md: {unknown}")
    if unseen:
        print(
            f"diff-ref: families listed in test-data/deviations.md but never seen: {unseen}"
            + ("" if a.n >= 20000 else " (not checked below 20,000 cases)")
        )
    print(f"diff-ref: {len(all_cases)} cases, {len(undocumented)} undocumented differences, {elapsed:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
