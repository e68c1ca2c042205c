"""Which distribution owns the import name ``openai_harmony``.

This package is published as ``harmony-codec`` and installs the module
``openai_harmony``, the import name of OpenAI's reference package
(published as ``openai-harmony``): that is what makes it a drop-in. Two
distributions installing one module is a known hazard (PIL and Pillow):
whichever was installed last owns the files they share, and uninstalling
either deletes them. This module

- notices, at import, when the reference's distribution is installed over
  the same module as ours, and warns once, naming both (``warn_if_shared``);
- builds a *stand-in*: an ``openai-harmony`` wheel with no files, version
  ``0.0.8+harmony.codec``, that requires ``harmony-codec``. Installed in
  place of the reference, it satisfies a server's ``openai-harmony``
  requirement (vLLM's metadata has one), so reinstalling or upgrading that
  server leaves our module alone (``harmony stand-in``, docs/install.md).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import List, Optional, Tuple

#: This project's distribution name on PyPI and its crate name on crates.io.
DISTRIBUTION = "harmony-codec"
#: OpenAI's distribution of the reference package.
REFERENCE = "openai-harmony"
#: The local version label that marks a stand-in (``0.0.8+harmony.codec``).
STAND_IN_LABEL = "harmony.codec"
#: The reference's version a stand-in claims unless told otherwise.
STAND_IN_VERSION = "0.0.8"

# The reference's dist-info directory is ``openai_harmony-VERSION.dist-info``.
_REFERENCE_DIST_INFO = "openai_harmony-"


def reference_versions(site_dir: Path) -> List[str]:
    """The versions of the reference's distribution installed in
    ``site_dir`` (the directory that holds our package), stand-ins left out."""
    try:
        names = os.listdir(site_dir)
    except OSError:
        return []
    out = []
    for name in names:
        if name.startswith(_REFERENCE_DIST_INFO) and name.endswith(".dist-info"):
            version = name[len(_REFERENCE_DIST_INFO) : -len(".dist-info")]
            if not version.endswith("+" + STAND_IN_LABEL):
                out.append(version)
    return sorted(out)


def shared_module_warning(site_dir: Path, ours: str) -> Optional[str]:
    """The warning for ``site_dir`` when the reference is installed there
    too, else None."""
    versions = reference_versions(site_dir)
    if not versions:
        return None
    return (
        f"two distributions are installed over the module openai_harmony in {site_dir}: "
        f"{DISTRIBUTION} {ours} (this one, in use) and OpenAI's {REFERENCE} {', '.join(versions)}. "
        f"Uninstalling or reinstalling {REFERENCE} deletes or replaces files of {DISTRIBUTION}. "
        f"To keep {DISTRIBUTION}: pip uninstall -y {REFERENCE} && "
        f"pip install --force-reinstall --no-deps {DISTRIBUTION} && harmony stand-in --install "
        "(docs/install.md)"
    )


def warn_if_shared(package_init: str, ours: str) -> None:
    """Warns once (at import; ``package_init`` is our ``__init__.py``) when
    the reference shares our module's directory."""
    message = shared_module_warning(Path(package_init).parent.parent, ours)
    if message is not None:
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _record_line(name: str, data: bytes) -> str:
    import base64
    import hashlib

    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def stand_in_wheel(out_dir: Path, ours: str, version: str = STAND_IN_VERSION) -> Path:
    """Writes the stand-in wheel into ``out_dir`` and returns its path: an
    ``openai-harmony`` distribution of version ``VERSION+harmony.codec``
    with no module, requiring ``harmony-codec``. ``version`` is the
    reference's version to stand in for (a server pinning
    ``openai-harmony==0.0.4`` needs ``0.0.4``: a local label is ignored by
    such a pin)."""
    import zipfile

    parts = version.split(".")
    if not version or "+" in version or not all(p.isdigit() for p in parts):
        raise ValueError(f"--version must be a release like 0.0.8, got {version!r}")
    full = f"{version}+{STAND_IN_LABEL}"
    info = f"openai_harmony-{full}.dist-info"
    files: List[Tuple[str, bytes]] = [
        (
            f"{info}/METADATA",
            (
                "Metadata-Version: 2.1\n"
                f"Name: {REFERENCE}\n"
                f"Version: {full}\n"
                f"Summary: Stand-in for {REFERENCE}: the module openai_harmony is provided by {DISTRIBUTION}\n"
                f"Requires-Dist: {DISTRIBUTION}>={ours}\n"
            ).encode(),
        ),
        (
            f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: harmony stand-in\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
    ]
    record = "\n".join([_record_line(n, d) for n, d in files] + [f"{info}/RECORD,,", ""])
    files.append((f"{info}/RECORD", record.encode()))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"openai_harmony-{full}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files:
            wheel.writestr(name, data)
    return path
