"""A process that forks while other threads render: the child renders too,
and must not hang on a lock a thread it does not have was holding (the
render cache's shards; the repair log's lock). multiprocessing's default
start method on Linux, DataLoader workers and HF datasets' ``num_proc`` all
fork under threads."""

from __future__ import annotations

import os
import threading
import time

import pytest

from openai_harmony import Conversation, HarmonyEncoding, Message, Role, StreamableParser

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

CHILDREN = 60
# A child renders in milliseconds (a busy machine included); one that takes
# this long is stuck.
CHILD_SECONDS = 10.0


def convo(i: int) -> Conversation:
    # Many short messages, every one new: each render mostly takes the
    # cache's shard locks (a miss reads, then writes).
    return Conversation.from_messages([Message.from_role_and_content(Role.USER, f"{i}.{j}") for j in range(200)])


def child_work(enc: HarmonyEncoding) -> None:
    for i in range(5):
        enc.render_conversation_for_completion(convo(-1 - i), Role.ASSISTANT)
    parser = StreamableParser(enc, None, strict=False)
    for t in [200005, *enc.encode("final hi"), 200002]:  # a repair: logged under the log's lock
        parser.process(t)


def test_a_child_forked_while_threads_render_does_not_hang(enc: HarmonyEncoding) -> None:
    stop = threading.Event()

    def render(k: int) -> None:
        i = k << 32
        while not stop.is_set():
            enc.render_conversation_for_completion(convo(i), Role.ASSISTANT)
            i += 1

    threads = [threading.Thread(target=render, args=(k,), daemon=True) for k in range(8)]
    for t in threads:
        t.start()
    hung = 0
    failed = 0
    time.sleep(0.3)  # the threads in full swing
    try:
        for _ in range(CHILDREN):
            time.sleep(0.002)
            pid = os.fork()
            if pid == 0:  # the child: render, then leave at once
                code = 1
                try:
                    child_work(enc)
                    code = 0
                finally:
                    os._exit(code)
            deadline = time.monotonic() + CHILD_SECONDS
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    failed += os.waitstatus_to_exitcode(status) != 0
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    hung += 1
                    break
                time.sleep(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert (hung, failed) == (0, 0), f"{hung} of {CHILDREN} children hung, {failed} failed"
