"""The Python examples of README.md and the docs (python, performance, interop)
run as written (except blocks marked `# requires: PACKAGE`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

from conftest import ROOT


def python_blocks(relative: str) -> List[Tuple[str, str]]:
    text = (ROOT / relative).read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)
    return [(f"{relative}#{i}", block) for i, block in enumerate(blocks)]


DOCS = ["README.md", "docs/python.md", "docs/performance.md", "docs/interop.md"]
BLOCKS = [
    (name, code)
    for doc in DOCS
    for name, code in python_blocks(doc)
    # Blocks that need packages we do not install say so on their first line.
    if not code.startswith("# requires:")
]


def test_there_are_examples() -> None:
    assert len(python_blocks("README.md")) >= 1 and len(python_blocks("docs/python.md")) >= 5


@pytest.mark.parametrize(("name", "code"), BLOCKS, ids=[name for name, _ in BLOCKS])
def test_example_runs(name: str, code: str) -> None:
    exec(compile(code, name, "exec"), {"__name__": "__example__"})


def shell_blocks(relative: str, language: str) -> List[str]:
    text = (ROOT / relative).read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)


def test_cli_examples_run(tmp_path: Path) -> None:
    """docs/cli.md: the bash blocks run in order in an empty directory, and the
    shown inspection is what `harmony inspect` prints."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    blocks = shell_blocks("docs/cli.md", "bash")
    assert len(blocks) >= 4
    for block in blocks:
        done = subprocess.run(["bash", "-e", "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    shown = shell_blocks("docs/cli.md", "text")[-1]
    done = subprocess.run(
        ["harmony", "inspect", "convo.json", "--no-color"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.stdout == shown
