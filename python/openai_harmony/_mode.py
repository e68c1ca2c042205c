"""The process-wide parse mode and the log of lenient repairs.

``OPENAI_HARMONY_PARSE=lenient`` (read once, when the package is imported)
or ``set_parse_mode("lenient")`` makes every parser in the process lenient,
also where the caller asked for a strict one: a server written for the
reference package (``StreamableParser(encoding, Role.ASSISTANT)``,
``parse_messages_from_completion_tokens(tokens, role)``) then repairs
malformed model output instead of failing the request, with no change to
its code. ``strict``, the default, is the reference's behaviour.

Every repair a lenient parser makes is counted by kind in the core
(``repair_counts()``) and logged to the ``openai_harmony`` logger, one
WARNING line each, at most ``max_lines`` lines per ``per_seconds`` seconds
(``configure_repair_log``); the lines over the limit are counted and the
next line that is written says how many were left out.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Dict, Optional

from . import _native

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "configure_repair_log",
    "parse_mode",
    "repair_counts",
    "set_parse_mode",
]

ENVIRONMENT_VARIABLE = "OPENAI_HARMONY_PARSE"
_MODES = ("strict", "lenient")

logger = logging.getLogger("openai_harmony")


def _check(mode: object, where: str) -> str:
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"{where}={mode!r} is not a parse mode: use 'strict' (the default) or 'lenient'")
    return mode


def _from_environment() -> bool:
    """Whether the environment asks for lenient parsing. A value that is not
    a mode is refused in one line: as the `harmony` command (or `python -m
    openai_harmony.…`), on stderr with exit status 2; in a program, as the
    ValueError that fails the import."""
    value = os.environ.get(ENVIRONMENT_VARIABLE, "strict")
    try:
        return _check(value, ENVIRONMENT_VARIABLE) == "lenient"
    except ValueError as error:
        # The `harmony` command, or `python -m openai_harmony.server` (while
        # Python locates the module it runs, sys.argv[0] is "-m").
        program = sys.argv[0] if sys.argv else ""
        if os.path.basename(program) == "harmony" or program == "-m":
            print(f"harmony: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        raise


_lenient = _from_environment()


def parse_mode() -> str:
    """The process-wide parse mode: ``"strict"`` (the default, the
    reference's behaviour) or ``"lenient"`` (every parser repairs, also
    where the caller asked for strict parsing)."""
    return "lenient" if _lenient else "strict"


def set_parse_mode(mode: str) -> None:
    """Sets the process-wide parse mode, as ``OPENAI_HARMONY_PARSE`` does at
    import: ``"lenient"`` makes every parser created from now on lenient;
    ``"strict"`` gives each parser the mode its caller asked for. Parsers
    that already exist keep their mode. Raises ``ValueError`` on any other
    value."""
    global _lenient
    _lenient = _check(mode, "parse mode") == "lenient"


def effective_strict(strict: bool) -> bool:
    """The mode a parser gets when its caller asks for ``strict``."""
    return strict and not _lenient


def server_recovery() -> bool:
    """Whether parsers also make the repairs servers need beyond the
    reference's lenient reading (which its own tests pin): in the
    process-wide lenient mode, a completion's first message of plain text
    with no header is reasoning (``analysis``), not a message with no channel;
    a recipient with no namespace (``to=ask_followup_question``) is a
    function; ``json`` glued to a function's name is the content type."""
    return _lenient


def repair_counts() -> Dict[str, int]:
    """How many repairs lenient parsers in this process have made since it
    started, by kind (every kind, zeros included): counters a server can
    export, e.g. as ``harmony_parse_repairs_total{kind="..."}``."""
    return dict(_native.repair_counts())


class _RepairLog:
    """Writes repair lines to the logger, at most ``max_lines`` per window."""

    def __init__(self, max_lines: int, per_seconds: float) -> None:
        self.max_lines = max_lines
        self.per_seconds = per_seconds
        self.lock = threading.Lock()
        self.window_start = float("-inf")
        self.written = 0
        self.suppressed = 0

    def __call__(self, kind: str, position: int, detail: str) -> None:
        if not logger.isEnabledFor(logging.WARNING):
            return
        now = time.monotonic()
        with self.lock:
            if now - self.window_start >= self.per_seconds:
                self.window_start = now
                self.written = 0
            if self.written >= self.max_lines:
                self.suppressed += 1
                return
            self.written += 1
            left_out, self.suppressed = self.suppressed, 0
        if len(detail) > 300:
            detail = detail[:300] + "…"
        note = f" ({left_out} earlier repair lines left out by the rate limit)" if left_out else ""
        logger.warning("harmony repair %s at token %d: %s%s", kind, position, detail, note)


_log = _RepairLog(max_lines=20, per_seconds=10.0)


def _after_fork_in_child() -> None:
    # A thread of the parent may have held a lock at the fork; it does not
    # exist in the child, so the child starts with locks of its own: the
    # repair log's, and the render cache's (a fresh, empty cache).
    _log.lock = threading.Lock()
    _native.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def report(kind: str, position: int, detail: str) -> None:
    """Logs one repair (rate-limited). Parsers call this for each repair."""
    _log(kind, position, detail)


def configure_repair_log(max_lines: Optional[int] = None, per_seconds: Optional[float] = None) -> None:
    """Sets the repair log's rate limit: at most ``max_lines`` lines (default
    20) in any window of ``per_seconds`` seconds (default 10). The counters
    count every repair whatever the limit; ``max_lines=0`` logs none."""
    with _log.lock:
        if max_lines is not None:
            if max_lines < 0:
                raise ValueError(f"max_lines={max_lines} must be 0 or more")
            _log.max_lines = max_lines
        if per_seconds is not None:
            if not per_seconds > 0:
                raise ValueError(f"per_seconds={per_seconds} must be more than 0")
            _log.per_seconds = per_seconds
