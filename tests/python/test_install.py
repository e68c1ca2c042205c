"""Replacing the reference under a server that requires it (docs/install.md),
in a fresh venv, step by step, as a user would.

The server is a stand-in too: a wheel built here whose metadata requires
``openai-harmony>=0.0.3``, as vLLM's does. OpenAI's ``openai-harmony``
comes from PyPI (pip's cache makes it quick after the first run); ours is
the wheel in dist/. After each step the test asks a new interpreter which
package ``import openai_harmony`` loads: ours has ``_native``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from openai_harmony._distribution import DISTRIBUTION, shared_module_warning, stand_in_wheel
from test_packaging import built_wheel

WHICH = (
    "import importlib.metadata as m, openai_harmony as h;"
    " print('ours' if hasattr(h, '_native') else 'reference', m.version('openai-harmony'))"
)


def server_wheel(out: Path) -> Path:
    """A server distribution that requires openai-harmony, as vLLM does."""
    info = "toy_server-1.0.dist-info"
    files = {
        "toy_server.py": "import openai_harmony\n",
        f"{info}/METADATA": (
            "Metadata-Version: 2.1\nName: toy-server\nVersion: 1.0\nRequires-Dist: openai-harmony>=0.0.3\n"
        ),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/RECORD": "",
    }
    path = out / "toy_server-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
    return path


class Venv:
    def __init__(self, root: Path, env: Dict[str, str]) -> None:
        self.root = root
        self.env = env
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
        self.python = str(root / "bin" / "python")

    def run(self, *args: str, extra_env: Optional[Dict[str, str]] = None) -> Tuple[str, str]:
        done = subprocess.run(args, capture_output=True, text=True, env={**self.env, **(extra_env or {})})
        assert done.returncode == 0, f"{args}: {done.stderr[-2000:]}"
        return done.stdout, done.stderr

    def pip(self, *args: str, extra_env: Optional[Dict[str, str]] = None) -> str:
        return self.run(
            self.python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args, extra_env=extra_env
        )[0]

    def which(self) -> Tuple[str, str]:
        """(which package imports, the stderr of importing it)."""
        out, err = self.run(self.python, "-c", WHICH)
        return out.strip(), err


def test_swap_in_under_a_server_and_keep_it(tmp_path: Path) -> None:
    wheel = built_wheel()
    links = tmp_path / "links"
    links.mkdir()
    server = server_wheel(links)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV", "PYTHON"))}
    venv = Venv(tmp_path / "venv", env)

    # The server pulls OpenAI's package from the index.
    venv.pip(str(server))
    which, _ = venv.which()
    assert which == "reference 0.0.8"

    # Ours installed over it owns the shared files now, and says the
    # reference is installed over the same module.
    venv.pip("--no-deps", str(wheel))
    which, stderr = venv.which()
    assert which == "ours 0.0.8"
    assert "RuntimeWarning" in stderr and f"{DISTRIBUTION} " in stderr and "openai-harmony 0.0.8" in stderr
    # A stand-in cannot be installed over the reference: the CLI says what to do first.
    harmony = str(tmp_path / "venv" / "bin" / "harmony")
    refused = subprocess.run(
        [harmony, "stand-in", "--install", "--out", str(links)], capture_output=True, text=True, env=env
    )
    assert refused.returncode == 1 and "pip uninstall -y openai-harmony" in refused.stderr

    # The swap (docs/install.md).
    venv.run(venv.python, "-m", "pip", "uninstall", "-q", "-y", "openai-harmony")
    venv.pip("--force-reinstall", "--no-deps", str(wheel))
    out, _ = venv.run(harmony, "stand-in", "--install", "--out", str(links))
    assert "installed openai-harmony 0.0.8+harmony.codec" in out
    which, stderr = venv.which()
    assert which == "ours 0.0.8+harmony.codec" and "Warning" not in stderr
    venv.run(venv.python, "-m", "pip", "check")

    # Installing or upgrading the server again leaves ours alone.
    venv.pip(str(server))
    venv.pip("--upgrade", str(server))
    assert venv.which()[0] == "ours 0.0.8+harmony.codec"

    # A forced reinstall of the server and all its dependencies, with the
    # stand-in's directory (holding our wheel too) in pip's find-links.
    (links / wheel.name).write_bytes(wheel.read_bytes())
    venv.pip("--force-reinstall", str(server), extra_env={"PIP_FIND_LINKS": str(links)})
    which, stderr = venv.which()
    assert which == "ours 0.0.8+harmony.codec" and "Warning" not in stderr


def test_stand_in_wheel_is_empty_and_requires_us(tmp_path: Path) -> None:
    path = stand_in_wheel(tmp_path, "0.1.0", "0.0.4")
    assert path.name == "openai_harmony-0.0.4+harmony.codec-py3-none-any.whl"
    with zipfile.ZipFile(path) as wheel:
        names: List[str] = wheel.namelist()
        assert all(n.startswith("openai_harmony-0.0.4+harmony.codec.dist-info/") for n in names), names
        meta = wheel.read("openai_harmony-0.0.4+harmony.codec.dist-info/METADATA").decode()
    assert "Name: openai-harmony\n" in meta and f"Requires-Dist: {DISTRIBUTION}>=0.1.0\n" in meta
    for bad in ("", "0.0.8+x", "latest", "1..2"):
        with pytest.raises(ValueError, match="--version must be a release"):
            stand_in_wheel(tmp_path, "0.1.0", bad)


def test_the_warning_ignores_stand_ins(tmp_path: Path) -> None:
    (tmp_path / "openai_harmony-0.0.8+harmony.codec.dist-info").mkdir()
    assert shared_module_warning(tmp_path, "0.1.0") is None
    (tmp_path / "openai_harmony-0.0.8.dist-info").mkdir()
    warning = shared_module_warning(tmp_path, "0.1.0")
    assert warning is not None and "openai-harmony 0.0.8" in warning and f"{DISTRIBUTION} 0.1.0" in warning
