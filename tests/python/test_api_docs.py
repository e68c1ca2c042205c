"""The Python API reference is the docstrings: every public name of the
package and its modules (`__all__`), and every public method and property
of each public class, has one. A type alias is documented by the string
literal that follows it in the source (the attribute-docstring convention)."""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from typing import Any, List

import pytest

MODULES = ["openai_harmony", "openai_harmony.interop", "openai_harmony.datasets", "openai_harmony.server"]


def alias_documented(module: Any, name: str) -> bool:
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):  # the compiled module has no source
        return False
    body = tree.body
    for i, node in enumerate(body[:-1]):
        targets = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
        if name in targets:
            nxt = body[i + 1]
            return (
                isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str)
            )
    return False


def undocumented(module_name: str) -> List[str]:
    module = importlib.import_module(module_name)
    missing = []
    for name in module.__all__:
        if name.startswith("__"):
            continue
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj)):
            # A type alias or a constant: documented where the package defines it.
            homes = [m for n, m in sorted(sys.modules.items()) if n.startswith("openai_harmony") and m is not None]
            if not any(alias_documented(m, name) for m in homes):
                missing.append(name)
            continue
        if not (obj.__doc__ or "").strip():
            missing.append(name)
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                target = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                if (callable(target) or isinstance(value, property)) and not (target.__doc__ or "").strip():
                    missing.append(f"{name}.{attr}")
    return missing


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_name_has_a_docstring(module_name: str) -> None:
    assert undocumented(module_name) == []


def test_modules_declare_their_api() -> None:
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        assert module.__doc__ and isinstance(module.__all__, list) and module.__all__
        for name in module.__all__:
            assert hasattr(module, name), f"{module_name}.__all__ names {name}, which it lacks"
