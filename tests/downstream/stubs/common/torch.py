"""torch: 800 MB, and nothing on the harmony paths uses it.

The servers' protocol modules read ``torch.iinfo(torch.long)`` for the
bounds of ``seed`` and version checks read ``torch.__version__`` at import;
everything else they name is a placeholder (see loader.py)."""

from types import SimpleNamespace
from typing import Any

import loader

__version__ = "2.9.0"

long = "int64"
int64 = "int64"


def iinfo(dtype: Any) -> SimpleNamespace:
    return SimpleNamespace(min=-(2**63), max=2**63 - 1, bits=64)


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return loader.placeholder(name, __name__)
