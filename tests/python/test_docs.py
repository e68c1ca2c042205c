"""The Python examples of README.md and the docs (python, performance,
interop, constrained, training) run as written (except blocks marked
`# requires: PACKAGE`)."""

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


DOCS = [
    "README.md",
    "docs/python.md",
    "docs/performance.md",
    "docs/interop.md",
    "docs/constrained.md",
    "docs/training.md",
    "docs/operators.md",
]
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


def test_format_doc_is_true() -> None:
    """docs/format.md: the special-token table and the examples match the library."""
    from openai_harmony import (
        Author,
        Conversation,
        HarmonyEncodingName,
        Message,
        Role,
        SystemContent,
        load_harmony_encoding,
    )

    enc = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    text = (ROOT / "docs/format.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `<\\\|(\w+)\\\|>` \| (\d+) \|", text, re.M)
    assert len(rows) == 9
    for name, token_id in rows:
        assert enc.encode(f"<|{name}|>", allowed_special="all") == [int(token_id)]
    blocks = shell_blocks("docs/format.md", "text")
    call = (
        Message.from_role_and_content(Role.ASSISTANT, '{"city": "Oslo"}')
        .with_channel("commentary")
        .with_recipient("functions.get_weather")
        .with_content_type("<|constrain|>json")
    )
    result = (
        Message.from_author_and_content(Author.new(Role.TOOL, "functions.get_weather"), '{"sky": "snow"}')
        .with_channel("commentary")
        .with_recipient("assistant")
    )
    assert blocks[1] == enc.decode(enc.render(call)) + "\n" + enc.decode(enc.render(result)) + "\n"
    convo = Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, SystemContent.new().with_conversation_start_date("2026-11-21")),
            Message.from_role_and_content(Role.USER, "What is 2 + 2?"),
        ]
    )
    assert blocks[3] == enc.decode(enc.render_conversation_for_completion(convo, Role.ASSISTANT)) + "\n"
    answer = enc.encode(blocks[4].strip(), allowed_special="all")
    parsed = enc.parse_messages_from_completion_tokens(answer, Role.ASSISTANT)
    assert [m.channel for m in parsed] == ["analysis", "final"]


def test_figures_have_one_source() -> None:
    """Every figure the README and the docs quote from the benches is read
    from docs/figures.json (benches/figures.py, run by make bench)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benches" / "figures.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.count("<!--fig:") >= 6


def test_every_install_line_installs_this_project() -> None:
    """No doc, message or example tells a user to `pip install openai-harmony`
    (OpenAI's package): ours is `harmony-codec`. Only the reference pinned as
    the test peer (`openai-harmony==0.0.8`) and the swap's `pip uninstall`
    may name it."""
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
    files += sorted((ROOT / "examples").rglob("*.md")) + sorted((ROOT / "python").rglob("*.py"))
    wrong = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in re.finditer(r"pip install[^`'\"\n]*?openai-harmony(\S*)", line):
                if not match.group(1).startswith("==0.0.8"):
                    wrong.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not wrong, "\n".join(wrong)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install dist/harmony_codec-" in readme and 'harmony-codec = "0.1"' in readme
