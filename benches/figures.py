#!/usr/bin/env python3
# ruff: noqa: RUF001  (the docs write ratios with the multiplication sign)
"""The one source of the figures the docs quote: docs/figures.json.

The benches write their measurements into it (`--figures`, which `make
bench` passes), and this script writes them into the docs:

- each `<!--fig:NAME-->…<!--/fig-->` span (README.md, CHANGELOG.md, docs/*.md) becomes the
  value of NAME (see `VALUES`);
- each `<!--table:NAME-->…<!--/table-->` block becomes that table (see
  `TABLES`): the Python workloads against the reference, the tokenizer
  against bpe-openai.

    python benches/figures.py           # rewrite the docs from docs/figures.json
    python benches/figures.py --check   # exit 1 if a doc differs (a test runs this)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures.json"
DOCS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]

Figures = Dict[str, Dict[str, Any]]


def load() -> Figures:
    data: Figures = json.loads(FIGURES.read_text(encoding="utf-8"))
    return data


def update(section: str, values: Dict[str, Any], note: str) -> None:
    """Merges a bench's measurements into docs/figures.json (then run this
    script to rewrite the docs)."""
    data = load() if FIGURES.exists() else {}
    data[section] = {"measured_by": note, **values}
    FIGURES.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def ratio(f: Figures, key: str) -> float:
    w = f["workloads"]
    return float(w["ours"][key]) / float(w["reference"][key])


def _x(value: float) -> str:
    return f"{value:.0f}×" if value >= 10 else f"{value:.1f}×"


RENDERS = ["render_small_tokens_per_s", "render_medium_tokens_per_s", "render_large_tokens_per_s"]

VALUES: Dict[str, Callable[[Figures], str]] = {
    "render_ratio_range": lambda f: f"{min(ratio(f, k) for k in RENDERS):.0f}-{max(ratio(f, k) for k in RENDERS):.0f}×",
    "history_ratio": lambda f: _x(ratio(f, "render_growing_history_turns_per_s")),
    "poll_ratio": lambda f: _x(ratio(f, "stream_poll_messages_tokens_per_s")),
    "parse_ratio_range": lambda f: (
        f"{ratio(f, 'stream_parse_tokens_per_s'):.0f}-{ratio(f, 'parse_batch_tokens_per_s'):.0f}×"
    ),
    "encode_ratio": lambda f: _x(ratio(f, "encode_plain_tokens_per_s")),
    "load_ms": lambda f: f"{float(f['workloads']['ours']['load_encoding_first_ms']):.0f} ms",
    "cold_ratio": lambda f: _x(float(f["cold"]["ratio"])),
    "cold_ours": lambda f: f"{float(f['cold']['ours']) / 1e6:.1f} M tok/s",
    "cold_ref": lambda f: f"{float(f['cold']['reference']) / 1e6:.2f} M tok/s",
    "bpe_ratio": lambda f: f"{float(f['tokenizer']['corpus_ratio']):.1f}×",
    "run_100k_ms": lambda f: f"{float(f['tokenizer']['run_100k_ms']):.0f} ms",
}

ROWS = [
    ("render_small_tokens_per_s", "M", "ratio"),
    ("render_medium_tokens_per_s", "M", "ratio"),
    ("render_large_tokens_per_s", "M", "ratio"),
    ("parse_batch_tokens_per_s", "M", "ratio"),
    ("stream_parse_tokens_per_s", "M", "ratio"),
    ("stream_poll_messages_tokens_per_s", "M", "ratio"),
    ("render_growing_history_turns_per_s", "", "ratio"),
    ("encode_plain_tokens_per_s", "M", "ratio"),
    ("load_encoding_first_ms", "ms", "inverse"),
]


def _amount(value: float, unit: str) -> str:
    if unit == "M":
        if value < 1e6:
            return f"{value / 1e6:.3f} M"
        return f"{value / 1e6:.2f} M" if value < 1e7 else f"{value / 1e6:.1f} M"
    if unit == "ms":
        return f"{value:.1f} ms"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def workloads_table(f: Figures) -> str:
    w = f["workloads"]
    lines = ["| workload | ours | reference 0.0.8 | ratio |", "|---|---:|---:|---:|"]
    for key, unit, how in ROWS:
        if key not in w["ours"] or key not in w["reference"]:
            continue
        ours, ref = float(w["ours"][key]), float(w["reference"][key])
        shown = f"{ours / ref:.1f}×" if how == "ratio" else f"1/{ref / ours:.1f}"
        lines.append(f"| {key} | {_amount(ours, unit)} | {_amount(ref, unit)} | {shown} |")
    lines.append("")
    lines.append(f"Measured by {w['measured_by']}.")
    return "\n".join(lines)


TOKENIZER_ROWS = [
    ("corpus", "the shared corpus (248 kB: prose, code, multilingual)"),
    ("prose", "prose (76 kB)"),
    ("code", "code (171 kB)"),
    ("multilingual", "multilingual (1.1 kB: the per-call cost shows)"),
    ("run_a_100k", '`"a" * 100_000` (one piece)'),
]


def tokenizer_table(f: Figures) -> str:
    t = f["tokenizer"]
    lines = ["| text | ours | bpe-openai `encode_ordinary` | ratio |", "|---|---:|---:|---:|"]
    for key, label in TOKENIZER_ROWS:
        row = t["rows"][key]
        ours, bpe = float(row["ours_mb_s"]), float(row["bpe_mb_s"])
        lines.append(f"| {label} | {ours:.1f} MB/s | {bpe:.1f} MB/s | {ours / bpe:.2f}× |")
    lines.append("")
    lines.append(f"A run of one letter costs {float(t['run_cost']):.1f}× per byte what the corpus does.")
    return "\n".join(lines)


def server_table(f: Figures) -> str:
    s = f["server"]
    lines = [
        "| server | reply | requests/s | p50 | p99 |",
        "|---|---|---:|---:|---:|",
    ]
    for reply in ("whole", "streamed"):
        for kind, label in (("asgi", "ASGI app under uvicorn"), ("http.server", "`http.server` (before)")):
            row = s[reply][kind]
            rps, p50, p99 = float(row["rps"]), float(row["p50"]), float(row["p99"])
            lines.append(f"| {label} | {reply} | {rps:,.0f} | {p50:.1f} ms | {p99:.1f} ms |")
    lines.append("")
    lines.append(f"Measured by {s['measured_by']}.")
    return "\n".join(lines)


TABLES: Dict[str, Callable[[Figures], str]] = {
    "workloads": lambda f: workloads_table(f),
    "tokenizer": tokenizer_table,
    "server": server_table,
}


def render(text: str, f: Figures) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in VALUES:
            raise SystemExit(f"unknown figure {name!r}")
        return f"<!--fig:{name}-->{VALUES[name](f)}<!--/fig-->"

    def table(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in TABLES:
            raise SystemExit(f"unknown table {name!r}")
        return f"<!--table:{name}-->\n{TABLES[name](f)}\n<!--/table-->"

    text = re.sub(r"<!--fig:(\w+)-->.*?<!--/fig-->", value, text)
    return re.sub(r"<!--table:(\w+)-->\n.*?<!--/table-->", table, text, flags=re.S)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="only check that the docs hold the figures")
    a = ap.parse_args()
    figures = load()
    stale: List[str] = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        fresh = render(text, figures)
        if fresh != text:
            stale.append(str(path.relative_to(ROOT)))
            if not a.check:
                path.write_text(fresh, encoding="utf-8")
    if a.check and stale:
        print(f"figures out of date in: {', '.join(stale)} (run python benches/figures.py)", file=sys.stderr)
        return 1
    if not a.check:
        print(f"rewrote: {', '.join(stale) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
