"""The process-wide parse mode (``OPENAI_HARMONY_PARSE``, ``set_parse_mode``),
the repair log and the repair counters.

Code written for the reference (``StreamableParser(enc, Role.ASSISTANT)``,
``parse_messages_from_completion_tokens(tokens, role)``) raises on malformed
output by default, exactly as the reference does, and repairs it when the
process is lenient, with no change to the code.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Iterator, List

import pytest

import openai_harmony
from openai_harmony import (
    HarmonyEncoding,
    HarmonyError,
    Role,
    StreamableParser,
    _mode,
    configure_repair_log,
    parse_mode,
    repair_counts,
    set_parse_mode,
)

# `<|start|>final<|message|>`: "Unknown role: final" in the reference.
BROKEN = "<|channel|>analysis<|message|>Done.<|end|><|start|>final<|message|>Fixed.<|return|>"


@pytest.fixture
def lenient() -> Iterator[None]:
    set_parse_mode("lenient")
    try:
        yield
    finally:
        set_parse_mode("strict")


@pytest.fixture
def repair_log() -> Iterator[None]:
    """A fresh rate limiter, restored after the test."""
    saved = (_mode._log.max_lines, _mode._log.per_seconds)
    _mode._log.window_start = float("-inf")
    _mode._log.suppressed = 0
    try:
        yield
    finally:
        configure_repair_log(*saved)
        _mode._log.window_start = float("-inf")
        _mode._log.suppressed = 0


def feed(parser: StreamableParser, tokens: List[int]) -> StreamableParser:
    for token in tokens:
        parser.process(token)
    parser.process_eos()
    return parser


def test_default_is_the_reference(enc: HarmonyEncoding) -> None:
    assert parse_mode() == "strict"
    tokens = enc.encode(BROKEN, allowed_special="all")
    with pytest.raises(HarmonyError, match="Unknown role: final"):
        enc.parse_messages_from_completion_tokens(tokens, Role.ASSISTANT)
    with pytest.raises(HarmonyError, match="Unknown role: final"):
        feed(StreamableParser(enc, Role.ASSISTANT), tokens)
    assert StreamableParser(enc, Role.ASSISTANT).strict


def test_lenient_mode_reaches_strict_callers(enc: HarmonyEncoding, lenient: None) -> None:
    tokens = enc.encode(BROKEN, allowed_special="all")
    messages = enc.parse_messages_from_completion_tokens(tokens, Role.ASSISTANT)
    assert [(m.channel, m.content[0].text) for m in messages] == [  # type: ignore[union-attr]
        ("analysis", "Done."),
        ("final", "Fixed."),
    ]
    parser = feed(StreamableParser(enc, Role.ASSISTANT, strict=True), tokens)
    assert not parser.strict
    assert parser.messages == messages
    assert [d.kind for d in parser.diagnostics] == ["repaired_header", "repaired_header"]
    assert enc.parse_batch([tokens, tokens], Role.ASSISTANT) == [messages, messages]


def test_existing_parsers_keep_their_mode(enc: HarmonyEncoding) -> None:
    before = StreamableParser(enc, Role.ASSISTANT)
    set_parse_mode("lenient")
    try:
        after = StreamableParser(enc, Role.ASSISTANT)
    finally:
        set_parse_mode("strict")
    assert before.strict and not after.strict
    assert StreamableParser(enc, Role.ASSISTANT).strict


def test_bad_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="'lenientt' is not a parse mode"):
        set_parse_mode("lenientt")
    assert parse_mode() == "strict"


def python(code: str, env_value: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENAI_HARMONY_PARSE": env_value}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)


def test_environment_is_read_at_import() -> None:
    done = python("import openai_harmony; print(openai_harmony.parse_mode())", "lenient")
    assert done.returncode == 0 and done.stdout.strip() == "lenient", done.stderr
    done = python("import openai_harmony; print(openai_harmony.parse_mode())", "strict")
    assert done.stdout.strip() == "strict", done.stderr
    done = python("import openai_harmony", "LENIENT")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == (
        "ValueError: OPENAI_HARMONY_PARSE='LENIENT' is not a parse mode: use 'strict' (the default) or 'lenient'"
    )


def harmony_script() -> str:
    script = shutil.which("harmony") or str(Path(sys.executable).parent / "harmony")
    assert Path(script).exists()
    return script


def test_cli_refuses_a_bad_value_in_one_line() -> None:
    env = {**os.environ, "OPENAI_HARMONY_PARSE": "yes"}
    done = subprocess.run([harmony_script(), "--version"], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "harmony: OPENAI_HARMONY_PARSE='yes' is not a parse mode: use 'strict' (the default) or 'lenient'"
    ]


def test_server_module_refuses_a_bad_value_in_one_line() -> None:
    env = {**os.environ, "OPENAI_HARMONY_PARSE": "loose"}
    done = subprocess.run(
        [sys.executable, "-m", "openai_harmony.server", "--help"], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "harmony: OPENAI_HARMONY_PARSE='loose' is not a parse mode: use 'strict' (the default) or 'lenient'"
    ]


def test_cli_honours_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "broken.txt"
    path.write_text(BROKEN, encoding="utf-8")
    script = harmony_script()
    strict = subprocess.run([script, "parse", str(path)], capture_output=True, text=True, check=False)
    assert strict.returncode == 1 and strict.stderr.count("\n") == 1, strict.stderr
    assert strict.stderr.startswith("harmony: error: strict parse failed at token 8 of 12, 200008 '<|message|>'")
    assert strict.stderr.strip().endswith(": Unknown role: final (--lenient repairs it)"), strict.stderr
    env = {**os.environ, "OPENAI_HARMONY_PARSE": "lenient"}
    done = subprocess.run([script, "parse", str(path)], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert [m["channel"] for m in json.loads(done.stdout)] == ["analysis", "final"]
    # Each repair once on stderr (the CLI's own lines, not the log's too).
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("harmony: repaired at token") for line in lines)


def test_each_repair_is_logged_with_kind_and_position(
    enc: HarmonyEncoding, lenient: None, repair_log: None, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = enc.encode(BROKEN, allowed_special="all")
    with caplog.at_level(logging.WARNING, logger="openai_harmony"):
        feed(StreamableParser(enc, Role.ASSISTANT), tokens)
    lines = [r.getMessage() for r in caplog.records if r.name == "openai_harmony"]
    position = tokens.index(200008, 5)  # the second message's <|message|>
    assert lines and all(line.startswith(f"harmony repair repaired_header at token {position}: ") for line in lines)
    assert any('"final"' in line for line in lines)
    assert all("\n" not in line for line in lines)


def test_log_is_rate_limited(
    enc: HarmonyEncoding,
    lenient: None,
    repair_log: None,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    configure_repair_log(max_lines=3, per_seconds=10.0)
    # A degenerate stream: 200 stray stop tokens between messages, one repair each.
    tokens = [200007] * 200
    with caplog.at_level(logging.WARNING, logger="openai_harmony"):
        feed(StreamableParser(enc, Role.ASSISTANT), tokens)
        assert len(caplog.records) == 3
        now[0] += 10.0
        feed(StreamableParser(enc, Role.ASSISTANT), [200007])
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4
    assert lines[-1].endswith("(197 earlier repair lines left out by the rate limit)")


def test_counters_count_repairs_by_kind(enc: HarmonyEncoding, lenient: None) -> None:
    before = repair_counts()
    assert set(before) >= {"repaired_header", "unterminated_header", "after_stop", "missing_start"}
    feed(StreamableParser(enc, Role.ASSISTANT), enc.encode(BROKEN, allowed_special="all"))
    after_stop = enc.encode("<|channel|>final<|message|>Hi.<|return|> and more", allowed_special="all")
    enc.parse_messages_from_completion_tokens(after_stop, Role.ASSISTANT)
    after = repair_counts()
    assert after["repaired_header"] == before["repaired_header"] + 2
    assert after["after_stop"] == before["after_stop"] + 1
    assert sum(after.values()) == sum(before.values()) + 3


def test_clean_output_counts_nothing(enc: HarmonyEncoding, lenient: None) -> None:
    clean = "<|channel|>analysis<|message|>Easy.<|end|><|start|>assistant<|channel|>final<|message|>4<|return|>"
    before = repair_counts()
    feed(StreamableParser(enc, Role.ASSISTANT), enc.encode(clean, allowed_special="all"))
    assert repair_counts() == before


def test_parsers_on_threads_count_every_repair(enc: HarmonyEncoding, lenient: None) -> None:
    tokens = enc.encode(BROKEN, allowed_special="all")
    before = repair_counts()["repaired_header"]

    def work() -> None:
        for _ in range(50):
            enc.parse_messages_from_completion_tokens(tokens, Role.ASSISTANT)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert repair_counts()["repaired_header"] == before + 4 * 50 * 2


def test_declared_tools_map_a_damaged_recipient(enc: HarmonyEncoding) -> None:
    text = "<|channel|>commentary to=functions.Web Search <|constrain|>json<|message|>{}<|call|>"
    tokens = enc.encode(text, allowed_special="all")
    [kept] = enc.parse_messages_from_completion_tokens(tokens, Role.ASSISTANT, strict=False)
    assert kept.recipient == "functions.Web Search"
    tools = ["functions.web_search", "functions.get_weather"]
    [mapped] = enc.parse_messages_from_completion_tokens(tokens, Role.ASSISTANT, strict=False, tools=tools)
    assert mapped.recipient == "functions.web_search"
    parser = feed(StreamableParser(enc, Role.ASSISTANT, strict=False, tools=tools), tokens)
    assert parser.tools == tools and parser.messages == [mapped]
    with pytest.raises(TypeError, match="not one string"):
        StreamableParser(enc, Role.ASSISTANT, tools="functions.web_search")


def test_server_exports_the_counters(enc: HarmonyEncoding) -> None:
    from openai_harmony import server as harmony_server

    server = harmony_server.make_server(harmony_server.demo_generator(enc), "127.0.0.1", 0, "m", encoding=enc)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        with urllib.request.urlopen(url, timeout=30) as reply:
            assert reply.headers["Content-Type"].startswith("text/plain")
            text = reply.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    counts = repair_counts()
    for kind in counts:
        assert f'harmony_parse_repairs_total{{kind="{kind}"}} ' in text
    assert 'harmony_parse_mode{mode="strict"} 1' in text
    assert "# TYPE harmony_parse_repairs_total counter" in text


def test_public_names() -> None:
    for name in ("parse_mode", "set_parse_mode", "repair_counts", "configure_repair_log"):
        assert name in openai_harmony.__all__


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_repair_log_survives_a_fork_while_its_lock_is_held(enc: HarmonyEncoding, lenient: None) -> None:
    """A thread holding the log's lock at the fork does not exist in the
    child: the child gets a lock of its own and can still log repairs."""
    tokens = enc.encode(BROKEN, allowed_special="all")
    with _mode._log.lock:
        pid = os.fork()
        if pid == 0:  # the child: parse (and log) a repair, then leave
            try:
                enc.parse_messages_from_completion_tokens(tokens, Role.ASSISTANT)
                os._exit(0)
            except BaseException:
                os._exit(1)
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung on the repair log's lock")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
