"""Runs ``../shared/vectors/check.py`` (the recorded reference vectors)
against this package: render and tokenizer vectors must all pass, and the
parse/stream vectors that fail must be exactly the ones
``test-data/deviations.md`` lists, with the reason ours differ."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Set

import pytest

from conftest import ROOT, TEST_DATA

VECTORS = ROOT.parent / "shared" / "vectors"


def listed_deviations() -> Set[str]:
    doc = (TEST_DATA / "deviations.md").read_text(encoding="utf-8")
    ids: Set[str] = set()
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("<!-- vectors:") and i + 1 < len(lines):
            ids.update(x.strip() for x in lines[i + 1].split(",") if x.strip())
    return ids


def test_reference_vectors() -> None:
    check = VECTORS / "check.py"
    if not check.exists():
        if os.environ.get("HARMONY_REQUIRE_VECTORS"):
            pytest.fail(f"{check} not found and HARMONY_REQUIRE_VECTORS is set")
        pytest.skip(f"{check} not found")
    run = subprocess.run(
        [sys.executable, str(check), str(VECTORS / "public"), "--show", "100000"],
        capture_output=True,
        text=True,
        check=False,
    )
    out = run.stdout
    print(out[-2000:])
    summary = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+): \d+ passed, (\d+) failed", out, re.M)}
    assert summary.get("render") == 0 and summary.get("tokenizer") == 0, summary
    failed = set(re.findall(r"^  FAIL (\S+) ", out, re.M))
    assert failed == listed_deviations(), (
        f"not documented: {sorted(failed - listed_deviations())}; listed but passing: "
        f"{sorted(listed_deviations() - failed)}"
    )
    assert re.search(r"^\d+ passed, \d+ failed$", out, re.M), out[-500:]
