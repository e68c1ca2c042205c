"""The house's layout holds: ARCHITECTURE.md's code map names every source
file (by path, name, or a folder it lists) and names no file that is gone,
and the application layers do not import each other in a circle."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Set

ROOT = Path(__file__).resolve().parents[2]
SOURCES = re.compile(
    r"(src/.*\.rs|python/openai_harmony/.*\.(py|pyi|html|js|css)|tests/.*\.(rs|py|sh)|benches/.*\.(rs|py)"
    r"|examples/.*\.(rs|py))$"
)


def tracked() -> List[str]:
    done = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [f for f in done.stdout.split() if SOURCES.match(f)]


def mentioned() -> Set[str]:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    return set(re.findall(r"`([^`\s]+)`", text))


def covered(path: str, names: Set[str]) -> bool:
    parts = path.split("/")
    name = parts[-1]
    stem = name.rsplit(".", 1)[0]
    folders = {"/".join(parts[:i]) + "/" for i in range(1, len(parts))}
    return bool({path, name, stem} & names or folders & names)


def test_the_code_map_names_every_source_file() -> None:
    names = mentioned()
    missing = [f for f in tracked() if not covered(f, names)]
    assert missing == [], f"add to ARCHITECTURE.md's code map: {missing}"


def test_the_code_map_names_no_file_that_is_gone() -> None:
    gone = []
    for name in mentioned():
        if not re.fullmatch(r"[\w./-]+\.(rs|py|pyi|toml|sh|html|js|css)|[\w./-]+/", name) or "/" not in name:
            continue
        if name.startswith(("http", "../", "/")):
            continue
        if not any((base / name).exists() for base in (ROOT, ROOT / "src", ROOT / "python" / "openai_harmony")):
            gone.append(name)
    assert gone == []


def imports(path: Path) -> Set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out


def test_the_server_does_not_import_the_command_line() -> None:
    """`harmony serve` starts the server; the server does not reach back
    into the CLI (their shared options live in `_serve_options.py`)."""
    server = ROOT / "python" / "openai_harmony" / "server"
    for path in server.glob("*.py"):
        found = imports(path)
        assert not any(m.endswith("cli") or m == "openai_harmony.cli" for m in found), (path.name, found)


def test_fixture_loaders_refuse_what_the_schema_does_not_allow() -> None:
    import pytest

    from conftest import check_cases, load_json

    spec = load_json("schema.json")["render/cases.json"]
    good: Dict[str, Any] = {"name": "x", "about": "", "conversation": {}, "op": "completion"}
    good.update(next_turn_role="assistant", auto_drop_analysis=None)
    check_cases("render/cases.json", [good], spec)
    for bad in (
        {**good, "expected_error": "x"},
        {**good, "op": "render"},
        {k: v for k, v in good.items() if k != "op"},
    ):
        with pytest.raises(AssertionError):
            check_cases("render/cases.json", [bad], spec)
