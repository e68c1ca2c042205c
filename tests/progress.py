"""Runs a long, quiet command and says every 30 seconds that it is still
working, with the last progress line it printed (a build's ``[k/n]``).

``make`` uses it for the steps that would otherwise be silent for minutes
(llama.cpp's build inside pip). The command's whole output goes to a log
file; on failure its last 60 lines are printed.

Usage: progress.py "what is happening" LOG -- COMMAND [ARG...]
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from typing import List, Optional

EVERY_SECONDS = 30
STEP = re.compile(r"\[\s*(\d+)\s*/\s*(\d+)\s*\]")


def main(argv: List[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    what, log_path, command = argv[0], argv[1], argv[3:]
    last_step: Optional[str] = None
    start = time.monotonic()
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(EVERY_SECONDS):
            minutes, seconds = divmod(int(time.monotonic() - start), 60)
            step = f", step {last_step}" if last_step else ""
            print(f"   ... {what}: {minutes}m{seconds:02d}s{step}", flush=True)

    threading.Thread(target=heartbeat, daemon=True).start()
    with open(log_path, "w", encoding="utf-8", errors="replace") as log:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
        )
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            match = STEP.search(line)
            if match:
                last_step = f"{match.group(1)}/{match.group(2)}"
        code = process.wait()
    done.set()
    minutes, seconds = divmod(int(time.monotonic() - start), 60)
    if code != 0:
        with open(log_path, encoding="utf-8", errors="replace") as log:
            tail = log.readlines()[-60:]
        sys.stdout.write("".join(tail))
        print(f"{what}: failed (exit {code}) after {minutes}m{seconds:02d}s; the whole log is {log_path}")
        return code
    print(f"   {what}: done in {minutes}m{seconds:02d}s (log: {log_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
