"""The distribution as users get it: the wheel `make dist` writes (its
tags, size and contents), the package these tests import (that wheel,
installed, not the tree), and the installed metadata (version, extras,
dependencies, license file)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

import openai_harmony
from conftest import engine_missing
from openai_harmony._distribution import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[2]
# The wheel is one per CPython version, tagged manylinux2014 (docs/install.md).
TAG = "manylinux2014_x86_64.manylinux_2_17_x86_64"
WHEEL_LIMIT_BYTES = 12_000_000


def built_wheel() -> Path:
    """The wheel of this version for this Python in dist/ (``make dist``)."""
    py = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    path = ROOT / "dist" / f"harmony_codec-{cargo_version()}-{py}-{py}-{TAG}.whl"
    if not path.is_file():
        engine_missing(f"no wheel at {path} (make dist builds it)")
    return path


def cargo_version() -> str:
    m = re.search(r'^version = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.M)
    assert m
    return m.group(1)


def test_one_version_everywhere() -> None:
    version = cargo_version()
    assert metadata.version(DISTRIBUTION) == version
    assert openai_harmony.__version__ == version
    done = subprocess.run(
        [sys.executable, "-m", "openai_harmony.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"harmony ({DISTRIBUTION} {version})"
    assert f"## {version}" in (ROOT / "CHANGELOG.md").read_text()


def test_extras_and_dependencies() -> None:
    meta = metadata.metadata(DISTRIBUTION)
    assert sorted(meta.get_all("Provides-Extra") or []) == ["datasets", "dev", "llama", "ray", "server"]
    required = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert [re.split(r"[<>=! ]", r)[0] for r in required] == ["pydantic"]


def test_the_playground_files_ship() -> None:
    files = {str(f).replace("\\", "/") for f in metadata.files(DISTRIBUTION) or []}
    for name in ("index.html", "playground.js", "playground.css"):
        assert f"openai_harmony/server/static/{name}" in files, sorted(files)


def test_the_license_ships() -> None:
    meta = metadata.metadata(DISTRIBUTION)
    licenses = (meta.get_all("License") or []) + (meta.get_all("License-Expression") or [])
    assert any("Apache-2.0" in text for text in licenses), licenses
    files = [str(f) for f in metadata.files(DISTRIBUTION) or []]
    assert any(f.endswith("LICENSE") for f in files), files
    assert (ROOT / "LICENSE").read_text().startswith(" " * 30 + "Apache License")


def test_the_wheel_is_tagged_and_holds_what_it_should() -> None:
    wheel = built_wheel()
    assert wheel.stat().st_size < WHEEL_LIMIT_BYTES, f"{wheel.stat().st_size:,} bytes"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = f"harmony_codec-{cargo_version()}.dist-info"
        tags = [line for line in archive.read(f"{info}/WHEEL").decode().splitlines() if line.startswith("Tag:")]
        py = f"cp{sys.version_info[0]}{sys.version_info[1]}"
        assert tags == [f"Tag: {py}-{py}-manylinux2014_x86_64", f"Tag: {py}-{py}-manylinux_2_17_x86_64"]
        for name in ("openai_harmony/py.typed", "openai_harmony/_native.pyi", "openai_harmony/__init__.py"):
            assert name in names, name
        assert any(n.startswith(info) and n.endswith("/LICENSE") for n in names), names
        natives = [n for n in names if re.fullmatch(r"openai_harmony/_native\.cpython-.*\.so", n)]
        assert len(natives) == 1, names
        # manylinux2014: no glibc symbol newer than 2.17.
        glibc = {tuple(map(int, v.split(b"."))) for v in re.findall(rb"GLIBC_(2\.[0-9]+)", archive.read(natives[0]))}
        assert glibc and max(glibc) <= (2, 17), sorted(glibc)
        assert not [n for n in names if n.startswith(("tests/", "test-data/", "src/"))]


def test_the_tests_import_the_installed_wheel_not_the_tree() -> None:
    """The package under test is the wheel in dist/, installed: its files
    are in this interpreter's site-packages and the native module's bytes
    are the wheel's."""
    package = Path(openai_harmony.__file__).resolve().parent
    assert ROOT / "python" not in package.parents and package.parent.name == "site-packages", package
    wheel = built_wheel()
    with zipfile.ZipFile(wheel) as archive:
        record = archive.read(f"harmony_codec-{cargo_version()}.dist-info/RECORD").decode()
    native = next(line for line in record.splitlines() if line.startswith("openai_harmony/_native."))
    name, digest, _ = native.split(",")
    installed = (package.parent / name).read_bytes()
    ours = base64.urlsafe_b64encode(hashlib.sha256(installed).digest()).rstrip(b"=").decode()
    assert digest == f"sha256={ours}", "the installed extension is not the wheel's (make python reinstalls it)"


@pytest.mark.skipif(not os.environ.get("HARMONY_NO_RUST_PATH_CHECK"), reason="set by make python-test")
def test_no_rust_toolchain_on_path() -> None:
    """`make python-test` runs the tests with no cargo or rustc on PATH, so
    nothing in them builds from source behind the wheel's back."""
    import shutil

    assert shutil.which("cargo") is None and shutil.which("rustc") is None, os.environ.get("PATH")
