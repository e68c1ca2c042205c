"""Shared fixtures for the Python tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

from openai_harmony import HarmonyEncoding, HarmonyEncodingName, load_harmony_encoding

ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = ROOT / "test-data"


@pytest.fixture(scope="session")
def enc() -> HarmonyEncoding:
    return load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)


def load_json(relative: str) -> Any:
    return json.loads((TEST_DATA / relative).read_text(encoding="utf-8"))


def load_cases(relative: str) -> List[Dict[str, Any]]:
    """The cases of a fixture file in test-data/: every file there is
    ``{"about": ..., "cases": [{"name": ..., "about": ..., ...}]}``, read the
    same way by the Rust tests (``common::fixture_cases``)."""
    doc = load_json(relative)
    assert isinstance(doc.get("about"), str) and isinstance(doc.get("cases"), list), relative
    cases: List[Dict[str, Any]] = doc["cases"]
    assert all(isinstance(c.get("name"), str) for c in cases), relative
    return cases


def text_fixture(relative: str) -> str:
    return (TEST_DATA / relative).read_text(encoding="utf-8")


def names(cases: List[Any]) -> List[str]:
    return [c["name"] for c in cases]
