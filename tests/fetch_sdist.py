"""Fetches a release's sdist from PyPI's simple index and unpacks it.

`pip download --no-binary :all:` would build the sdist's metadata first,
which for a maturin project means compiling maturin from source (15 minutes
on two cores). This asks the index (PEP 691 JSON) for the file's URL and
sha256, downloads it, checks the digest and unpacks it: seconds.

Usage: fetch_sdist.py NAME VERSION DIR
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tarfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, List

INDEX = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")


def index_files(name: str) -> List[Dict[str, Any]]:
    """The project's files from the index: PEP 691 JSON, or the HTML page
    (links with a ``#sha256=`` fragment) from an index that serves only that."""
    accept = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
    request = urllib.request.Request(f"{INDEX}/{name}/", headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=60) as response:
        kind = response.headers.get("Content-Type", "")
        body = response.read()
    if "json" in kind:
        files: List[Dict[str, Any]] = json.loads(body)["files"]
        return files
    out = []
    for href, filename in re.findall(r'<a[^>]*href="([^"]+)"[^>]*>([^<]+)</a>', body.decode()):
        url, _, fragment = href.partition("#")
        digest = fragment[len("sha256=") :] if fragment.startswith("sha256=") else ""
        out.append(
            {
                "filename": filename.strip(),
                "url": urllib.parse.urljoin(f"{INDEX}/{name}/", url),
                "hashes": {"sha256": digest},
            }
        )
    return out


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    name, version, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    wanted = f"{name.replace('-', '_')}-{version}.tar.gz"
    found = [f for f in index_files(name) if f["filename"] == wanted]
    if not found:
        print(f"fetch_sdist: {INDEX}/{name}/ lists no {wanted}", file=sys.stderr)
        return 1
    entry = found[0]
    with urllib.request.urlopen(entry["url"], timeout=120) as response:
        data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["hashes"]["sha256"]:
        print(f"fetch_sdist: {wanted}: sha256 {digest}, the index says {entry['hashes']['sha256']}", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    (out / wanted).write_bytes(data)
    with tarfile.open(out / wanted) as archive:
        archive.extractall(out, filter="data")
    print(f"fetch_sdist: {wanted} ({len(data):,} bytes, sha256 checked) unpacked into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
