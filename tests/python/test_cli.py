"""The ``harmony`` command line: every subcommand, and one clear error line
(exit status 1, no traceback) on bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

from openai_harmony import HarmonyEncoding, Message, Role
from openai_harmony.cli import demo_conversation, main


def run(argv: List[str], capsys: pytest.CaptureFixture[str], stdin: str = "") -> Tuple[int, str, str]:
    import io

    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(argv)
    finally:
        sys.stdin = old
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def convo_file(tmp_path: Path) -> Path:
    path = tmp_path / "convo.json"
    path.write_text(demo_conversation().to_json(), encoding="utf-8")
    return path


def test_render_formats(enc: HarmonyEncoding, convo_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = enc.render_conversation_for_completion(demo_conversation(), Role.ASSISTANT)
    code, out, _ = run(["render", str(convo_file), "--format", "tokens"], capsys)
    assert code == 0 and [int(t) for t in out.split()] == expected
    code, out, _ = run(["render", str(convo_file)], capsys)
    assert out == enc.decode(expected) + "\n"
    code, out, _ = run(["render", str(convo_file), "--for", "training", "--format", "json"], capsys)
    doc = json.loads(out)
    assert doc["tokens"] == enc.render_conversation_for_training(demo_conversation())
    assert [m["role"] for m in doc["messages"]] == ["system", "developer", "user", "assistant", "tool"]


def test_render_chat_request_from_stdin(enc: HarmonyEncoding, capsys: pytest.CaptureFixture[str]) -> None:
    request = {"model": "gpt-oss", "reasoning_effort": "high", "messages": [{"role": "user", "content": "Hi"}]}
    code, out, _ = run(["render", "-", "--date", "2026-01-01"], capsys, stdin=json.dumps(request))
    assert code == 0
    assert "Reasoning: high" in out and "Current date: 2026-01-01" in out
    assert out.endswith("<|start|>user<|message|>Hi<|end|><|start|>assistant\n")
    # Forced: a harmony conversation read as a chat request.
    code, out, _ = run(["render", "--from", "chat", "--date", "2026-01-01"], capsys, stdin=json.dumps(request))
    assert code == 0 and "Reasoning: high" in out


def test_parse_ids_text_and_events(enc: HarmonyEncoding, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = Message.from_role_and_content(Role.ASSISTANT, "Hello!").with_channel("final")
    tokens = enc.render(message)[2:]
    for text in (json.dumps(tokens), " ".join(map(str, tokens)), enc.decode(tokens)):
        (tmp_path / "c.txt").write_text(text, encoding="utf-8")
        code, out, err = run(["parse", str(tmp_path / "c.txt")], capsys)
        assert code == 0, err
        assert [Message.from_dict(m) for m in json.loads(out)] == [message]
    code, out, _ = run(["parse", "--events"], capsys, stdin=json.dumps(tokens))
    events = [json.loads(line) for line in out.splitlines()]
    assert events[0]["event"] == "MessageStarted"
    assert events[-1]["event"] == "MessageCompleted"
    assert "".join(e.get("text", "") for e in events if e["event"] == "ContentDelta") == "Hello!"


def test_parse_strict_and_lenient(capsys: pytest.CaptureFixture[str]) -> None:
    broken = "<|channel|>final<|message|>Hi<|end|> stray <|start|>assistant<|channel|>final<|message|>Bye<|return|>"
    code, out, err = run(["parse"], capsys, stdin=broken)
    assert code == 1 and out == ""
    assert err.startswith("harmony: error: ") and len(err.strip().splitlines()) == 1
    code, out, _ = run(["parse", "--lenient"], capsys, stdin=broken)
    assert code == 0 and [m["content"][0]["text"] for m in json.loads(out)] == ["Hi", "Bye"]


def test_inspect_plain_and_colour(convo_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["inspect", str(convo_file), "--no-color"], capsys)
    assert code == 0 and "\x1b[" not in out
    assert "── [3] assistant · commentary · to=functions.get_weather tokens 181-202 (21)" in out
    assert "total" in out.splitlines()[-1]
    from openai_harmony import load_harmony_encoding
    from openai_harmony.cli import inspect_text

    coloured = inspect_text(load_harmony_encoding("HarmonyGptOss"), demo_conversation(), color=True)
    assert "\x1b[1;35m<|start|>\x1b[0m" in coloured


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["render"], "{not json", "invalid JSON"),
        (["render", "/nonexistent/file.json"], "", "cannot read /nonexistent/file.json"),
        (
            ["render", "--from", "harmony"],
            '{"messages": [{"role": "robot", "content": "x"}]}',
            "Unknown role",
        ),
        (
            ["render"],
            '{"messages": [{"role": "tool", "tool_call_id": "x", "content": "1"}]}',
            "matches no earlier tool call",
        ),
        (["parse"], "[1, 2, 99999999]", "harmony: error:"),
        (["parse"], '["a"]', "integers only"),
        (["parse", "--role", "robot"], "[1]", "unknown role"),
        (["render", "--role", "robot"], '[{"role": "user", "content": "hi"}]', "robot"),
        # Valid JSON of the wrong shape, and numbers out of range.
        (["render"], "42", "got a number"),
        (["render"], "null", "got null"),
        (["render"], '"str"', "got a string"),
        (["render"], '{"messages": "x"}', '"messages" must be a list, got a string'),
        (["render"], '{"messages": [5]}', "messages[0] must be an object, got a number"),
        (["render"], "[]", '"messages" is empty'),
        (["render"], '{"foo": 1}', 'no "messages" in the object (its keys: foo)'),
        (["inspect"], "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (["parse"], "[1, 2, -5]", "token id -5 (position 2) is not in the vocabulary"),
        (["parse"], "[99999999999]", "token id 99999999999 (position 0)"),
        (["parse"], "1 2 -3", "token id -3 (position 2)"),
        # A malformed message names the field, not a KeyError.
        (
            ["render", "--from", "harmony"],
            '{"messages": [{"role": "user", "content": [{"type": "text"}]}]}',
            "missing field 'text'",
        ),
        (["render", "--from", "harmony"], '{"messages": [{"content": "hi"}]}', "missing field 'role'"),
    ],
)
def test_bad_input_is_one_line(argv: List[str], stdin: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys, stdin=stdin)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("harmony: error: ")
    assert message in err


def test_demo_and_console_script(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["demo", "--no-color"], capsys)
    assert code == 0
    assert "── [4] functions.get_weather · commentary · to=assistant" in out
    assert '"text": "It is 18 °C and clear in Paris right now."' in out
    script = shutil.which("harmony", path=str(Path(sys.executable).parent))
    assert script is not None, "the wheel installs a `harmony` script"
    done = subprocess.run([script, "parse"], input="[1, 2, 3]", capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_dates_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["render", "--date", "2026-13-01"])
    assert exited.value.code == 2 and "expected a date as YYYY-MM-DD, got '2026-13-01'" in capsys.readouterr().err
    request = '{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'
    code, out, _ = run(["render", "--date", "2026-02-03"], capsys, stdin=request)
    assert code == 0 and "Current date: 2026-02-03" in out


def test_colour_follows_no_color_and_the_option(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    convo = '[{"role": "user", "content": "hi"}]'
    code, out, _ = run(["inspect", "--color", "always"], capsys, stdin=convo)
    assert code == 0 and "\x1b[" in out
    for argv in (["inspect", "--color", "never"], ["inspect", "--no-color"], ["inspect"]):
        code, out, _ = run(argv, capsys, stdin=convo)
        assert code == 0 and "\x1b[" not in out, argv  # captured output is not a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, _ = run(["inspect"], capsys, stdin=convo)
    assert code == 0 and "\x1b[" not in out
    code, out, _ = run(["inspect", "--color", "always"], capsys, stdin=convo)
    assert "\x1b[" in out


def test_parse_role_is_detected(capsys: pytest.CaptureFixture[str]) -> None:
    continued = "<|channel|>final<|message|>Hi<|return|>"
    whole = "<|start|>assistant<|channel|>final<|message|>Hi<|return|>"
    for text in (continued, whole):
        code, out, err = run(["parse"], capsys, stdin=text)
        assert code == 0, err
        assert json.loads(out)[0]["channel"] == "final"
    code, out, err = run(["parse", "--role", "none"], capsys, stdin=continued)
    assert code == 1 and err.startswith("harmony: error: ")  # no <|start|>: not a message


def test_lenient_repairs_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    broken = "<|channel|>analysis<|message|>Think.<|end|>oops<|start|>assistant<|channel|>final<|message|>Hi<|return|>"
    code, out, err = run(["parse", "--lenient"], capsys, stdin=broken)
    assert code == 0 and [m["channel"] for m in json.loads(out)] == ["analysis", "final"]
    repairs = err.strip().splitlines()
    assert repairs and all(line.startswith("harmony: repaired at token ") for line in repairs), err
    code, out, err = run(["parse", "--lenient", "--format", "json"], capsys, stdin=broken)
    doc = json.loads(out)
    assert [d["kind"] for d in doc["diagnostics"]] == [line.split(": ")[2] for line in repairs]
    assert len(doc["messages"]) == 2


def test_no_input_on_a_terminal_is_an_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal(""))
    assert main(["render"]) == 1
    assert "no input: give a FILE" in capsys.readouterr().err


# --- the CLI says exactly what is wrong ------------------------------------------


def test_auto_detection_never_changes_what_an_input_means(capsys: pytest.CaptureFixture[str]) -> None:
    # A harmony conversation with one bad field: its error, not a Chat reading.
    bad = '{"messages": [{"role": "user", "content": "hi", "channel": 5}]}'
    code, out, err = run(["render"], capsys, bad)
    assert code == 1 and out == "" and "not a harmony conversation: messages[0].channel" in err, err
    # Keys of both formats: ambiguous, and the keys are named.
    both = '{"model": "x", "messages": [{"role": "user", "content": "hi", "channel": "final"}]}'
    code, out, err = run(["inspect"], capsys, both)
    assert code == 1 and "ambiguous input" in err and "messages[0].channel" in err and '"model"' in err, err
    code, out, err = run(["render", "--from", "chat"], capsys, both)
    assert code == 0, err
    # Neither reading works: what is wrong under each.
    code, out, err = run(["render"], capsys, '{"messages": [{"role": "user", "content": 5}]}')
    assert code == 1 and "as a harmony conversation, messages[0]" in err and "as a Chat Completions request" in err
    # Chat keys: a Chat Completions request (a dated system message added, as documented).
    code, out, err = run(["render"], capsys, '{"messages": [{"role": "user", "content": "hi"}], "model": "m"}')
    assert code == 0 and "Current date:" in out


def test_tokenize_detects_as_render_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    chat = {"model": "m", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}
    source = tmp_path / "chat.jsonl"
    source.write_text(json.dumps(chat) + "\n")
    lengths = {}
    for how in ("auto", "chat"):
        target = tmp_path / f"{how}.parquet"
        code, _, err = run(["tokenize", str(source), "-o", str(target), "--from", how, "--date", "2026-12-06"], capsys)
        assert code == 0, err
        lengths[how] = len(pq.read_table(target).column("input_ids")[0].as_py())
        if how == "auto":
            assert "read as Chat Completions requests" in err and "1 conversation," in err, err
    assert lengths["auto"] == lengths["chat"] > 25, lengths


@pytest.mark.parametrize(
    "stdin, message",
    [
        ("", "the input is empty"),
        ('{"a":1}', "the completion ended before its last message was complete: 5 tokens, ending '{\"a\":1}'"),
        ("hello world", "ending 'hello world'"),
        (
            "<|start|>assistant<|channel|>final<|message|>Hi<|end|>stray<|start|>assistant<|channel|>final"
            "<|message|>x<|return|>",
            "strict parse failed at token 7 of ",
        ),
    ],
    ids=["empty", "json", "text", "stray"],
)
def test_parse_errors_say_what_where_and_what_was_expected(
    stdin: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["parse"], capsys, stdin)
    assert code == 1 and out == "" and message in err, err
    assert err.count("\n") == 1
    if "stray" in stdin:
        assert "(after '" in err and "(<|start|>)" in err, err  # the text around it, the token it expected


def test_lenient_reports_one_stray_text_once(capsys: pytest.CaptureFixture[str]) -> None:
    text = "<|start|>assistant<|channel|>final<|message|>Hi<|end|>stray text here<|start|>assistant<|channel|>final"
    code, _, err = run(["parse", "--lenient"], capsys, text + "<|message|>x<|return|>")
    assert code == 0
    lines = err.strip().splitlines()
    assert lines == [
        "harmony: repaired at tokens 7-10: stray text 'stray text here' outside any message: read as"
        " an assistant message"
    ], lines


def test_serve_errors_are_plain_words(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    code, _, err = run(["serve", "--port", "99999"], capsys)
    assert code == 1 and err.strip() == "harmony: error: --port must be from 0 to 65535, got 99999"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(["serve", "--port", str(port)], capsys)
    assert code == 1 and f"cannot listen on 127.0.0.1:{port}: address already in use" in err, err
    assert "Error" not in err and "Errno" not in err
