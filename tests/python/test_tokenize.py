"""Training data at scale: `openai_harmony.datasets.tokenize_batch`, the
`harmony tokenize` command (Parquet), and the real engines: Hugging Face
datasets with num_proc=2 and Ray Data on a local Ray started here, all
checked token for token against render_conversation_for_training_with_mask."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pyarrow.parquet as pq
import pytest

from conftest import started
from openai_harmony import (
    Author,
    Conversation,
    DeveloperContent,
    HarmonyEncoding,
    Message,
    Role,
    SystemContent,
    ToolDescription,
    interop,
)
from openai_harmony.datasets import tokenize_batch

DATE = "2026-01-01"
HARMONY = [sys.executable, "-m", "openai_harmony.cli"]


def conversation(rng: random.Random, i: int) -> Conversation:
    """A conversation with tools, calls, analysis and several turns."""
    tool = ToolDescription.new(
        "lookup", "Looks up.", parameters={"type": "object", "properties": {"q": {"type": "string"}}}
    )
    messages = [
        Message.from_role_and_content(Role.SYSTEM, SystemContent.new().with_conversation_start_date(DATE)),
        Message.from_role_and_content(Role.DEVELOPER, DeveloperContent.new().with_function_tools([tool])),
    ]
    for turn in range(rng.randint(1, 3)):
        messages.append(
            Message.from_role_and_content(Role.USER, f"Question {i}.{turn}: " + "ünï " * rng.randint(0, 30))
        )
        if rng.random() < 0.5:
            messages.append(
                Message.from_role_and_content(Role.ASSISTANT, "Thinking " * rng.randint(1, 9)).with_channel("analysis")
            )
        if rng.random() < 0.4:
            messages.append(
                Message.from_role_and_content(Role.ASSISTANT, '{"q": "x"}')
                .with_channel("commentary")
                .with_recipient("functions.lookup")
                .with_content_type("<|constrain|>json")
            )
            messages.append(
                Message.from_author_and_content(Author.new(Role.TOOL, "functions.lookup"), "found")
                .with_channel("commentary")
                .with_recipient("assistant")
            )
        messages.append(
            Message.from_role_and_content(Role.ASSISTANT, f"Answer {i}." * rng.randint(1, 5)).with_channel("final")
        )
    return Conversation.from_messages(messages)


def chat_request(rng: random.Random, i: int) -> Dict[str, Any]:
    messages: List[Dict[str, Any]] = [{"role": "system", "content": "Be brief."}]
    for turn in range(rng.randint(1, 3)):
        messages.append({"role": "user", "content": f"Q{i}.{turn} " + "word " * rng.randint(0, 20)})
        if rng.random() < 0.3:
            call = {
                "id": f"c{i}{turn}",
                "type": "function",
                "function": {"name": "get-weather", "arguments": '{"city": "Oslo"}'},
            }
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
            messages.append({"role": "tool", "tool_call_id": f"c{i}{turn}", "content": "sunny"})
        messages.append(
            {"role": "assistant", "content": f"A{i}.{turn}", "reasoning_content": "hmm" if rng.random() < 0.5 else None}
        )
    tools = [{"type": "function", "function": {"name": "get-weather", "parameters": {"type": "object"}}}]
    return {"messages": messages, "tools": tools}


def expected(enc: HarmonyEncoding, convo: Conversation, train_on: str = "all_assistant") -> Tuple[List[int], List[int]]:
    return enc.render_conversation_for_training_with_mask(convo, train_on=train_on)  # type: ignore[arg-type]


def test_tokenize_batch_every_input_kind(enc: HarmonyEncoding) -> None:
    rng = random.Random(1)
    convos = [conversation(rng, i) for i in range(40)]
    kinds = [c.to_json() for c in convos[:10]] + [c.to_dict() for c in convos[10:20]]
    kinds += convos[20:30] + [c.to_dict()["messages"] for c in convos[30:]]
    for train_on in ("all_assistant", "last_assistant_turn"):
        out = tokenize_batch({"conversation": kinds}, train_on=train_on)
        for convo, ids, mask in zip(convos, out["input_ids"], out["loss_mask"]):
            assert (ids, mask) == expected(enc, convo, train_on)
    spans = tokenize_batch({"conversation": kinds[:3]}, spans=True)["message_spans"]
    assert [s["role"] for s in spans[0]] == [s.role.value for s in enc.message_spans(convos[0])]
    assert spans[0][-1]["end"] == len(expected(enc, convos[0])[0])


def test_tokenize_batch_chat_requests(enc: HarmonyEncoding) -> None:
    rng = random.Random(2)
    requests = [chat_request(rng, i) for i in range(30)]
    rows: List[Any] = requests[:15] + [r["messages"] for r in requests[15:]]
    out = tokenize_batch({"conversation": rows}, input_format="chat", date=DATE)
    for i, (request, ids, mask) in enumerate(zip(requests, out["input_ids"], out["loss_mask"])):
        if i >= 15:
            request = {"messages": request["messages"]}  # a bare list carries no tools
        convo = interop.conversation_from_chat_completions(request, date=DATE)
        assert (ids, mask) == expected(enc, convo)


def test_tokenize_batch_errors_name_the_row() -> None:
    good = Conversation.from_messages([Message.from_role_and_content(Role.USER, "hi")]).to_json()
    with pytest.raises(ValueError, match=r"row 1 of the batch \('conversation'\)"):
        tokenize_batch({"conversation": [good, '{"messages": 5}']})
    with pytest.raises(ValueError, match="no column 'text'"):
        tokenize_batch({"conversation": [good]}, column="text")
    with pytest.raises(ValueError, match="row 0: no conversation"):
        tokenize_batch({"conversation": [None]})
    with pytest.raises(ValueError, match="input format"):
        tokenize_batch({"conversation": [good]}, input_format="xml")  # type: ignore[arg-type]


# --- harmony tokenize -----------------------------------------------------------


def write_jsonl(path: Path, rows: List[str]) -> None:
    path.write_text("".join(r + "\n" for r in rows), encoding="utf-8")


def run_cli(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HARMONY, "tokenize", *args], capture_output=True, text=True, timeout=300, **kw)


def read_back(path: Path) -> List[Tuple[List[int], List[int], int]]:
    table = pq.read_table(path)
    assert str(table.schema.field("input_ids").type) == "list<element: int32>"
    assert str(table.schema.field("loss_mask").type) == "list<element: int8>"
    assert str(table.schema.field("num_tokens").type) == "int32"
    return list(zip(table["input_ids"].to_pylist(), table["loss_mask"].to_pylist(), table["num_tokens"].to_pylist()))


def test_cli_tokenizes_token_for_token(enc: HarmonyEncoding, tmp_path: Path) -> None:
    rng = random.Random(3)
    convos = [conversation(rng, i) for i in range(300)]
    src = tmp_path / "in.jsonl"
    write_jsonl(src, [c.to_json() for c in convos])
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}.parquet"
        done = run_cli(str(src), "-o", str(out), "--workers", workers)
        assert done.returncode == 0, done.stderr
        assert "300 conversations" in done.stderr and "tokens/s" in done.stderr
        outputs.append(read_back(out))
    assert outputs[0] == outputs[1]
    for convo, (ids, mask, n) in zip(convos, outputs[0]):
        assert (ids, mask) == expected(enc, convo) and n == len(ids)
    # last_assistant_turn and chat input.
    out = tmp_path / "last.parquet"
    assert run_cli(str(src), "-o", str(out), "--train-on", "last_assistant_turn").returncode == 0
    assert [r[1] for r in read_back(out)] == [expected(enc, c, "last_assistant_turn")[1] for c in convos]
    requests = [chat_request(rng, i) for i in range(50)]
    chat = tmp_path / "chat.jsonl"
    write_jsonl(chat, [json.dumps(r) for r in requests])
    out = tmp_path / "chat.parquet"
    assert run_cli(str(chat), "-o", str(out), "--from", "chat", "--date", DATE).returncode == 0
    want = [expected(enc, interop.conversation_from_chat_completions(r, date=DATE))[0] for r in requests]
    assert [r[0] for r in read_back(out)] == want


def test_cli_bad_lines(enc: HarmonyEncoding, tmp_path: Path) -> None:
    good = Conversation.from_messages([Message.from_role_and_content(Role.USER, "hi")]).to_json()
    src = tmp_path / "in.jsonl"
    write_jsonl(src, [good, good, "{not json", good, "", '{"messages": [{"role": "wizard", "content": "x"}]}', good])
    out = tmp_path / "out.parquet"
    done = run_cli(str(src), "-o", str(out))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"harmony: error: {src}:3: "), lines
    assert not out.exists() and not list(tmp_path.glob(".out.parquet*"))
    done = run_cli(str(src), "-o", str(out), "--skip-invalid")
    assert done.returncode == 0, done.stderr
    skipped = [line for line in done.stderr.splitlines() if "skipped line" in line]
    assert [line.split("skipped line ")[1].split(":")[0] for line in skipped] == ["3", "5", "6"]
    assert "empty" in skipped[1] and "3 invalid lines skipped" in done.stderr
    assert len(read_back(out)) == 4


def test_cli_empty_and_huge_inputs(enc: HarmonyEncoding, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    out = tmp_path / "empty.parquet"
    done = run_cli(str(empty), "-o", str(out))
    assert done.returncode == 0 and read_back(out) == [] and "0 conversations" in done.stderr
    # A line several blocks long, between ordinary ones, and no final newline.
    big = Conversation.from_messages([Message.from_role_and_content(Role.USER, "word " * 700_000)])
    small = Conversation.from_messages([Message.from_role_and_content(Role.USER, "hi")])
    src = tmp_path / "big.jsonl"
    src.write_text("\n".join([small.to_json(), big.to_json(), small.to_json()]), encoding="utf-8")
    out = tmp_path / "big.parquet"
    done = run_cli(str(src), "-o", str(out), "--workers", "2")
    assert done.returncode == 0, done.stderr
    rows = read_back(out)
    assert [r[0] for r in rows] == [expected(enc, c)[0] for c in (small, big, small)]


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    for args, message in [
        ([str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "o.parquet")], "cannot read"),
        ([os.devnull, "-o", str(tmp_path / "no" / "o.parquet")], "does not exist"),
        ([os.devnull, "-o", str(tmp_path)], "is a directory"),
        ([os.devnull, "-o", str(tmp_path / "o.parquet"), "--workers", "0"], "at least 1"),
    ]:
        done = run_cli(*args)
        assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_output_must_be_a_regular_file_or_a_new_path(tmp_path: Path) -> None:
    """-o never replaces a device, a FIFO or the input; a symlink's target is
    written and the link stays."""
    source = tmp_path / "in.jsonl"
    write_jsonl(source, [json.dumps([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}])])
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    cases = [(fifo, "is a FIFO"), (source, "is the input file")]
    link_to_input = tmp_path / "input-link.parquet"
    link_to_input.symlink_to(source)
    cases.append((link_to_input, "is the input file"))
    try:
        device = tmp_path / "null"
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        cases.append((device, "is a character device"))
    except PermissionError:
        device = None  # not root: the FIFO stands for the special files
    for path, message in cases:
        before = os.lstat(path)
        done = run_cli(str(source), "-o", str(path))
        assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
        after = os.lstat(path)
        assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino), f"{path} was replaced"
    assert source.read_text(encoding="utf-8").startswith("[")
    target = tmp_path / "target.parquet"
    target.write_bytes(b"old")
    link = tmp_path / "link.parquet"
    link.symlink_to(target)
    done = run_cli(str(source), "-o", str(link))
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert len(read_back(target)) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_cli_progress_line(tmp_path: Path) -> None:
    good = Conversation.from_messages([Message.from_role_and_content(Role.USER, "hi")]).to_json()
    src = tmp_path / "in.jsonl"
    write_jsonl(src, [good] * 50)
    done = run_cli(str(src), "-o", str(tmp_path / "o.parquet"), "--progress")
    assert done.returncode == 0 and "rows/s" in done.stderr and "ETA" in done.stderr
    quiet = run_cli(str(src), "-o", str(tmp_path / "o.parquet"))
    assert "rows/s" not in quiet.stderr  # not a terminal: no progress line


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_killed_run_leaves_no_output(tmp_path: Path, how: int) -> None:
    rng = random.Random(4)
    row = conversation(rng, 0).to_json()
    src = tmp_path / "in.jsonl"
    write_jsonl(src, [row] * 150_000)
    out = tmp_path / "out.parquet"
    with started([*HARMONY, "tokenize", str(src), "-o", str(out), "--workers", "2"], stderr=subprocess.PIPE) as proc:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".out.parquet.*.partial")) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        assert proc.poll() is None, "finished before it could be interrupted"
        proc.send_signal(how)
        _, err = proc.communicate(timeout=60)
    src.unlink()
    assert not out.exists()
    if how != signal.SIGKILL:
        assert proc.returncode == 130 and b"interrupted" in err and b"Traceback" not in err
        assert not list(tmp_path.glob(".out.parquet*"))


# --- the real engines -----------------------------------------------------------


def harmony_rows(n: int, seed: int) -> Tuple[List[Conversation], List[str]]:
    rng = random.Random(seed)
    convos = [conversation(rng, i) for i in range(n)]
    return convos, [c.to_json() for c in convos]


def test_hf_datasets_map_with_two_processes(enc: HarmonyEncoding) -> None:
    import datasets

    convos, rows = harmony_rows(200, 5)
    ds = datasets.Dataset.from_dict({"conversation": rows, "id": list(range(len(rows)))})
    out = ds.map(tokenize_batch, batched=True, batch_size=16, num_proc=2, remove_columns=["conversation"])
    assert out.num_rows == 200
    for record in out:
        ids, mask = expected(enc, convos[record["id"]])
        assert record["input_ids"] == ids and record["loss_mask"] == mask


def test_ray_data_map_batches(enc: HarmonyEncoding) -> None:
    import ray
    import ray.data

    convos, rows = harmony_rows(120, 6)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        ds = ray.data.from_items([{"conversation": r, "id": i} for i, r in enumerate(rows)])

        def with_ids(batch: Dict[str, Any]) -> Dict[str, Any]:
            return {**tokenize_batch(batch), "id": list(batch["id"])}

        records = ds.map_batches(with_ids, batch_size=16).take_all()
    finally:
        ray.shutdown()
    assert len(records) == 120
    for record in records:
        ids, mask = expected(enc, convos[int(record["id"])])
        assert list(record["input_ids"]) == ids and list(record["loss_mask"]) == mask
