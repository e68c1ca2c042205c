"""`harmony tokenize`: a JSONL file of conversations to a Parquet file of
training columns (`input_ids` list<int32>, `loss_mask` list<int8>,
`num_tokens` int32), streaming with bounded memory.

Lines are read in blocks of about a megabyte. Worker threads tokenize
blocks in the Rust core, which splits and parses the lines with the GIL
released, so the threads run in parallel; a reader thread keeps them fed
(two blocks per worker queued or running) while the main thread writes the
results, in input order, as Parquet row groups of `GROUP_ROWS` rows or
`GROUP_TOKENS` tokens. At most `MAX_HELD` finished blocks wait for the
writer, so memory stays bounded. With one worker everything runs in the
main thread, one core's worth of work. The output is written under a
temporary name beside the final one and renamed when complete, so an
interrupted run leaves nothing under the final name."""

from __future__ import annotations

import os
import queue
import signal
import stat
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator, List, Optional, Tuple

from . import _native
from .datasets import _shared_encoding

CHUNK_BYTES = 1 << 20
MAX_HELD = 32
GROUP_ROWS = 16_384
GROUP_TOKENS = 4 << 20


class TokenizeError(Exception):
    """A bad line (with its number) or a bad setting: one line for the user."""


@dataclass
class Summary:
    rows: int = 0
    tokens: int = 0
    skipped: int = 0
    seconds: float = 0.0


def _blocks(f: IO[bytes]) -> Iterator[Tuple[int, bytes, int]]:
    """(number of the block's first line, whole lines of JSONL, bytes read
    so far). The core splits the lines; here a block is only cut after its
    last newline, and a line longer than a block is put together from the
    blocks it spans."""
    number = 1
    done = 0
    carry: List[bytes] = []
    while True:
        block = f.read(CHUNK_BYTES)
        done += len(block)
        if not block:
            break
        cut = block.rfind(b"\n")
        if cut < 0:
            carry.append(block)
            continue
        head = block[: cut + 1]
        if carry:
            head = b"".join(carry) + head
            carry = []
        if cut + 1 < len(block):
            carry.append(block[cut + 1 :])
        yield number, head, done
        number += head.count(b"\n")
    if carry:
        yield number, b"".join(carry), done


def _work(block: bytes, input_format: str, train_on: str, date: Optional[str]) -> Tuple[Any, ...]:
    # One call per block: the core splits and parses the lines with the GIL
    # released, and no Python object is made per line.
    tokens, offsets, mask, kept, errors, _ = _native.tokenize_lines(
        _shared_encoding()._inner, block, input_format, train_on, date
    )
    return tokens, offsets, mask, kept, errors


class _Progress:
    """A status line on a terminal: rows/s, tokens/s and, for a file, ETA."""

    def __init__(self, stream: IO[str], total: Optional[int], enabled: bool) -> None:
        self.stream, self.total, self.enabled = stream, total, enabled
        self.start = self.last = time.monotonic()

    def update(self, rows: int, tokens: int, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.25 and not force):
            return
        self.last = now
        elapsed = max(now - self.start, 1e-9)
        line = f"{rows:,} rows  {rows / elapsed:,.0f} rows/s  {tokens / elapsed:,.0f} tokens/s"
        if self.total:
            share = done / self.total
            eta = elapsed * (1 - share) / share if share > 0 else 0.0
            line += f"  {share:6.1%}  ETA {int(eta) // 60}:{int(eta) % 60:02d}"
        self.stream.write("\r\x1b[K" + line)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _columns(pa: Any, tokens: bytes, offsets: bytes, mask: bytes, rows: int) -> Any:
    n = len(tokens) // 4
    offs = pa.Array.from_buffers(pa.int32(), rows + 1, [None, pa.py_buffer(offsets)])
    ids = pa.ListArray.from_arrays(offs, pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(tokens)]))
    marks = pa.ListArray.from_arrays(offs, pa.Array.from_buffers(pa.int8(), n, [None, pa.py_buffer(mask)]))
    import pyarrow.compute as pc

    return ids, marks, pc.list_value_length(ids).cast(pa.int32())


def _output_path(source: str, output: str) -> Path:
    """Where the Parquet file goes, checked before any work starts. A new
    path or a regular file is written (atomically, through a partial file
    beside it). A symlink is followed: its target is replaced, the link
    stays. Anything else (a directory, a device such as /dev/null, a FIFO, a
    socket) is refused, and so is the input file itself."""
    out = Path(output)
    if out.is_symlink():
        out = Path(os.path.realpath(out))
    try:
        mode = out.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise TokenizeError(f"cannot write {output}: {e.strerror}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise TokenizeError(f"{output} is a directory")
    if mode is not None and not stat.S_ISREG(mode):
        kind = (
            "a character device"
            if stat.S_ISCHR(mode)
            else "a block device"
            if stat.S_ISBLK(mode)
            else "a FIFO"
            if stat.S_ISFIFO(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise TokenizeError(f"{output} is {kind}: -o must be a regular file or a new path")
    if not out.parent.exists():
        raise TokenizeError(f"{out.parent} does not exist")
    if source != "-" and mode is not None and os.path.exists(source) and os.path.samefile(source, out):
        raise TokenizeError(f"-o {output} is the input file")
    return out


def tokenize_file(
    source: str,
    output: str,
    *,
    train_on: str = "all_assistant",
    input_format: str = "harmony",
    workers: Optional[int] = None,
    skip_invalid: bool = False,
    date: Optional[str] = None,
    progress: Optional[bool] = None,
    log: IO[str] = sys.stderr,
) -> Summary:
    """Tokenizes the JSONL file ``source`` ("-": stdin) into the Parquet file
    ``output``. A bad line raises ``TokenizeError`` naming it, unless
    ``skip_invalid``: then it is reported on ``log`` and counted."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise TokenizeError(
            "harmony tokenize writes Parquet with pyarrow: pip install 'harmony-codec[datasets]'"
        ) from None
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise TokenizeError(f"--workers must be at least 1, got {workers}")
    out = _output_path(source, output)
    if source == "-":
        stream: IO[bytes] = sys.stdin.buffer
        total = None
    else:
        try:
            stream = open(source, "rb")
        except OSError as e:
            raise TokenizeError(f"cannot read {source}: {e.strerror}") from None
        total = os.fstat(stream.fileno()).st_size or None
    schema = pa.schema(
        [("input_ids", pa.list_(pa.int32())), ("loss_mask", pa.list_(pa.int8())), ("num_tokens", pa.int32())]
    )
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    summary = Summary()
    shown = _Progress(log, total, log.isatty() if progress is None else progress)
    started = time.monotonic()
    previous = signal.getsignal(signal.SIGTERM)
    if threading_is_main():
        signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with (
            stream,
            pq.ParquetWriter(
                partial, schema, compression="zstd", use_dictionary=["num_tokens"], write_statistics=["num_tokens"]
            ) as writer,
        ):
            group: List[Any] = []
            group_rows = group_tokens = 0
            for first, done, result in _results(stream, workers, (input_format, train_on, date)):
                tokens, offsets, mask, kept, errors = result
                for index, reason in errors:
                    line = first + index
                    if not skip_invalid:
                        raise TokenizeError(f"{source}:{line}: {reason}")
                    clear = "\r\x1b[K" if shown.enabled else ""
                    log.write(f"{clear}harmony: skipped line {line}: {reason}\n")
                    summary.skipped += 1
                if kept:
                    ids, marks, lengths = _columns(pa, tokens, offsets, mask, len(kept))
                    group.append(pa.Table.from_arrays([ids, marks, lengths], schema=schema))
                    group_rows += len(kept)
                    group_tokens += len(tokens) // 4
                    summary.rows += len(kept)
                    summary.tokens += len(tokens) // 4
                if group and (group_rows >= GROUP_ROWS or group_tokens >= GROUP_TOKENS):
                    writer.write_table(pa.concat_tables(group), row_group_size=group_rows)
                    group, group_rows, group_tokens = [], 0, 0
                shown.update(summary.rows, summary.tokens, done)
            if group:
                writer.write_table(pa.concat_tables(group), row_group_size=group_rows)
            shown.update(summary.rows, summary.tokens, total or 0, force=True)
        os.replace(partial, out)
    except BaseException:
        shown.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        if threading_is_main():
            signal.signal(signal.SIGTERM, previous)
    shown.close()
    summary.seconds = time.monotonic() - started
    return summary


def _results(stream: IO[bytes], workers: int, settings: Tuple[str, str, Optional[str]]) -> Iterator[Tuple[Any, ...]]:
    """(first line, bytes read, tokenized block) for each block, in order.

    One worker: everything in the calling thread. More: a reader thread
    hands blocks to the workers while the caller writes, keeping up to two
    blocks per worker queued or running whatever the writer is doing, and at
    most ``MAX_HELD`` finished blocks waiting for the writer."""
    if workers == 1:
        for first, block, done in _blocks(stream):
            yield first, done, _work(block, *settings)
        return
    running = threading.BoundedSemaphore(2 * workers)
    held = threading.BoundedSemaphore(MAX_HELD)
    stop = threading.Event()
    handed: queue.Queue[Any] = queue.Queue()

    def acquire(sem: threading.BoundedSemaphore) -> bool:
        while not stop.is_set():
            if sem.acquire(timeout=0.1):
                return True
        return False

    def read() -> None:
        try:
            for first, block, done in _blocks(stream):
                if not (acquire(held) and acquire(running)):
                    return
                future = pool.submit(_work, block, *settings)
                future.add_done_callback(lambda _: running.release())
                handed.put((first, done, future))
        except BaseException as e:  # the caller raises it
            handed.put(e)
        handed.put(None)

    with ThreadPoolExecutor(workers) as pool:
        reader = threading.Thread(target=read, name="harmony-tokenize-reader", daemon=True)
        reader.start()
        try:
            while True:
                item = handed.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                first, done, future = item
                result = future.result()
                held.release()
                yield first, done, result
        finally:
            stop.set()
            reader.join()


def threading_is_main() -> bool:
    return threading.current_thread() is threading.main_thread()


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
