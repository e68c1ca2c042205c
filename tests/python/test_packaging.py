"""The installed distribution's metadata (pip built it as a wheel from this
tree): its version, extras, dependencies and license file."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import openai_harmony

ROOT = Path(__file__).resolve().parents[2]


def cargo_version() -> str:
    m = re.search(r'^version = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.M)
    assert m
    return m.group(1)


def test_one_version_everywhere() -> None:
    version = cargo_version()
    assert metadata.version("openai-harmony") == version
    assert openai_harmony.__version__ == version
    done = subprocess.run(
        [sys.executable, "-m", "openai_harmony.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"harmony (openai-harmony {version})"
    assert f"## {version}" in (ROOT / "CHANGELOG.md").read_text()


def test_extras_and_dependencies() -> None:
    meta = metadata.metadata("openai-harmony")
    assert sorted(meta.get_all("Provides-Extra") or []) == ["datasets", "dev", "llama", "ray", "server"]
    required = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert [re.split(r"[<>=! ]", r)[0] for r in required] == ["pydantic"]


def test_the_playground_files_ship() -> None:
    files = {str(f).replace("\\", "/") for f in metadata.files("openai-harmony") or []}
    for name in ("index.html", "playground.js", "playground.css"):
        assert f"openai_harmony/server/static/{name}" in files, sorted(files)


def test_the_license_ships() -> None:
    meta = metadata.metadata("openai-harmony")
    licenses = (meta.get_all("License") or []) + (meta.get_all("License-Expression") or [])
    assert any("Apache-2.0" in text for text in licenses), licenses
    files = [str(f) for f in metadata.files("openai-harmony") or []]
    assert any(f.endswith("LICENSE") for f in files), files
    assert (ROOT / "LICENSE").read_text().startswith(" " * 30 + "Apache License")
