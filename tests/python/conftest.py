"""Shared fixtures for the Python tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List

import pytest

from openai_harmony import HarmonyEncoding, HarmonyEncodingName, load_harmony_encoding

ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = ROOT / "test-data"


@pytest.fixture(scope="session")
def enc() -> HarmonyEncoding:
    return load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)


def load_json(relative: str) -> Any:
    return json.loads((TEST_DATA / relative).read_text(encoding="utf-8"))


def text_fixture(relative: str) -> str:
    return (TEST_DATA / relative).read_text(encoding="utf-8")


def names(cases: List[Any]) -> List[str]:
    return [c["name"] for c in cases]
