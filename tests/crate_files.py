"""Checks what the published crate would hold: `cargo package --list` on stdin.

The crate is the Rust library alone: its sources, build script, README,
LICENSE, CHANGELOG, ARCHITECTURE and docs, the benches and the demo
example. Not the Python package, the tests or their fixtures, nor anything
built. crates.io refuses a package over 10 MB; this one must stay far below.
"""

from __future__ import annotations

import sys
from pathlib import Path

REQUIRED = ["Cargo.toml", "Cargo.toml.orig", "Cargo.lock", "LICENSE", "README.md", "build.rs", "src/lib.rs"]
FORBIDDEN_PREFIXES = ("python/", "tests/", "test-data/", "fuzz/", "dist/", "target/", ".venv", ".ci/", ".cache/")
LIMIT_BYTES = 2_000_000


def main() -> int:
    files = [line.strip() for line in sys.stdin if line.strip()]
    problems = [f"missing {name}" for name in REQUIRED if name not in files]
    problems += [f"should not be packaged: {name}" for name in files if name.startswith(FORBIDDEN_PREFIXES)]
    root = Path(__file__).resolve().parent.parent
    size = sum((root / name).stat().st_size for name in files if (root / name).is_file())
    if size > LIMIT_BYTES:
        problems.append(f"{size:,} bytes of sources, over the {LIMIT_BYTES:,} this crate allows itself")
    for problem in problems:
        print(f"crate_files: {problem}", file=sys.stderr)
    if not problems:
        print(f"crate_files: {len(files)} files, {size:,} bytes, as expected")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
