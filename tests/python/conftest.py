"""Shared fixtures for the Python tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from openai_harmony import HarmonyEncoding, HarmonyEncodingName, load_harmony_encoding

ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = ROOT / "test-data"


@pytest.fixture(scope="session")
def enc() -> HarmonyEncoding:
    return load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)


@pytest.fixture(scope="session")
def tokenizer(enc: HarmonyEncoding) -> Any:
    """llguidance's tokenizer of our own vocabulary (as tiktoken's Encoding
    wants it) plus our specials, for the grammar tests."""
    import llguidance.tiktoken
    import tiktoken

    ranks = {enc.decode_bytes([r]): r for r in range(199_998)}
    specials = {name: enc.encode(name, allowed_special="all")[0] for name in enc.special_tokens_set}
    te = tiktoken.Encoding(name="o200k_harmony", pat_str=r"\S+|\s+", mergeable_ranks=ranks, special_tokens=specials)
    return llguidance.tiktoken.lltokenizer_from_encoding(te, eos_token=specials["<|return|>"])


def load_json(relative: str) -> Any:
    return json.loads((TEST_DATA / relative).read_text(encoding="utf-8"))


def load_cases(relative: str) -> List[Dict[str, Any]]:
    """The cases of a fixture file in test-data/: every file there is
    ``{"about": ..., "cases": [{"name": ..., "about": ..., ...}]}``, its
    cases' keys and values as ``test-data/schema.json`` describes them
    (unknown keys and values refused), read the same way by the Rust tests
    (``common::fixture_cases``)."""
    doc = load_json(relative)
    assert isinstance(doc.get("about"), str) and isinstance(doc.get("cases"), list), relative
    cases: List[Dict[str, Any]] = doc["cases"]
    spec = load_json("schema.json").get(relative)
    assert spec is not None, f"test-data/schema.json does not describe {relative}"
    check_cases(relative, cases, spec)
    return cases


def check_cases(relative: str, cases: List[Dict[str, Any]], spec: Dict[str, Any]) -> None:
    """Asserts that ``cases`` are what ``spec`` (an entry of
    test-data/schema.json) allows."""
    allowed = set(spec["required"]) | set(spec.get("optional", []))
    for case in cases:
        name = case.get("name")
        assert isinstance(name, str), f"a case of {relative} has no name"
        unknown = set(case) - allowed
        assert not unknown, f"{relative}: case {name} has keys test-data/schema.json does not allow: {sorted(unknown)}"
        missing = set(spec["required"]) - set(case)
        assert not missing, f"{relative}: case {name} lacks {sorted(missing)}"
        for key, values in spec.get("values", {}).items():
            assert key not in case or case[key] in values, f"{relative}: case {name}: {key}={case[key]!r}"


def text_fixture(relative: str) -> str:
    return (TEST_DATA / relative).read_text(encoding="utf-8")


def names(cases: List[Any]) -> List[str]:
    return [c["name"] for c in cases]


# A program started in a background job (`make test &`) inherits SIGINT
# ignored, and a Python child then ignores Ctrl-C. The programs the tests
# start get SIGINT back to its default first (Python then installs its own
# handler), so a test of Ctrl-C does not depend on how the runner was started.
_SIGINT_DEFAULT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
)


@contextlib.contextmanager
def started(args: List[str], **popen: Any) -> Iterator[subprocess.Popen[Any]]:
    """Starts `args` (an absolute executable first) with SIGINT at its
    default, and kills it on the way out if it is still running, whether the
    test passed or failed."""
    if os.name == "posix":
        args = [sys.executable, "-c", _SIGINT_DEFAULT, *args]
    proc = subprocess.Popen(args, **popen)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(Exception):
            proc.communicate(timeout=30)


@contextlib.contextmanager
def started_harmony(*args: str) -> Iterator[Tuple[subprocess.Popen[str], str]]:
    """``harmony ARGS`` (``python -m openai_harmony.cli``), started as
    ``started`` starts a program, stdout and stderr piped as text; yields the
    process and the first line it printed (a server's address)."""
    command = [sys.executable, "-m", "openai_harmony.cli", *args]
    with started(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline()


def sigint_was_ignored() -> bool:
    """Whether this process was started with SIGINT ignored (a background job)."""
    return signal.getsignal(signal.SIGINT) == signal.SIG_IGN


def engine_missing(reason: str) -> None:
    """A real engine a test needs is not here: a skip that says why, or,
    with ``HARMONY_REQUIRE_ENGINES=1`` (set by ``.ci/run``), a failure, so
    that CI never passes without running it."""
    if os.environ.get("HARMONY_REQUIRE_ENGINES"):
        pytest.fail(f"required engine missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def engine() -> Iterator[Any]:
    """llama.cpp with the tests' tiny o200k_harmony model (``llama_model.py``),
    one thread, for the llama.cpp tests (which skip, or fail under
    ``HARMONY_REQUIRE_LLAMA``, where llama-cpp-python is missing)."""
    from llama_model import cached_model
    from openai_harmony.server.llama import LlamaEngine

    model = LlamaEngine(cached_model(), n_ctx=4096, threads=1)
    try:
        yield model
    finally:
        model.close()
