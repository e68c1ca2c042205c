"""Import machinery: a server's real modules from its extracted wheel, with
only the named heavy modules replaced.

Three kinds of module are provided by the finder installed here:

* real modules of the server (``vllm.*``, ``sglang.*``, ``lmdeploy.*``),
  executed from the source extracted from the released wheel, unchanged.
  A package's ``__init__.py`` runs too, unless the server config lists the
  package in ``skip_init``: then the package is an empty module whose
  ``__path__`` points at the extracted folder (so importing
  ``vllm.entrypoints.harmony_utils`` does not import the engine that
  ``vllm/__init__.py`` pulls in);
* hand-written stubs (``stubs/<folder>/<dotted.name>.py``): small modules
  that give just what the server code reads, each explained in its
  docstring and in README.md;
* placeholders (``auto`` patterns): modules whose every attribute is an
  inert class, for imports that the driven code only names (type
  annotations, base classes of code never run, engine clients). Every
  placeholder attribute that is touched is recorded in ``TOUCHED``, which
  ``worker.py --explain`` prints.
"""

from __future__ import annotations

import fnmatch
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
from typing import Any

TOUCHED: dict[str, set[str]] = {}


class _PlaceholderMeta(type):
    """Metaclass of placeholder classes: any attribute, subscript or union
    gives another placeholder (iterating one gives nothing), so annotations,
    decorators and registration loops work."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return placeholder(f"{cls.__qualname__}.{name}", cls.__module__)

    def __getitem__(cls, item: Any) -> Any:
        return cls

    def __iter__(cls) -> Any:
        return iter(())

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        # Used as a decorator (``@X.register("name")`` or ``@X``): hand the
        # decorated object back.
        if len(args) == 1 and not kwargs and (isinstance(args[0], type) or callable(args[0])):
            return args[0]
        return super().__call__(*args, **kwargs)

    def __repr__(cls) -> str:
        return f"<placeholder {cls.__module__}.{cls.__qualname__}>"


def _any_schema(cls: type, source: Any, handler: Any) -> Any:
    from pydantic_core import core_schema

    return core_schema.any_schema()


def _call_instance(self: Any, *args: Any, **kwargs: Any) -> Any:
    # ``@X("name")`` then decorates: hand the decorated object back.
    if len(args) == 1 and not kwargs and callable(args[0]):
        return args[0]
    return placeholder(f"{type(self).__qualname__}()()", type(self).__module__)()


def placeholder(qualname: str, module: str) -> type:
    TOUCHED.setdefault(module, set()).add(qualname)
    return _PlaceholderMeta(
        qualname.rsplit(".", 1)[-1],
        (),
        {
            "__qualname__": qualname,
            "__module__": module,
            "__init__": lambda self, *a, **k: None,
            "__getattr__": lambda self, name: placeholder(f"{qualname}().{name}", module),
            "__iter__": lambda self: iter(()),
            "__call__": _call_instance,
            # A placeholder in a pydantic field's type accepts anything.
            "__get_pydantic_core_schema__": classmethod(_any_schema),
        },
    )


class PlaceholderModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        value = placeholder(name, self.__name__)
        setattr(self, name, value)
        return value


class _PlaceholderLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = PlaceholderModule(spec.name)
        module.__path__ = []  # type: ignore[attr-defined]
        TOUCHED.setdefault(spec.name, set())
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


class _EmptyPackageLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        pass


class ServerFinder(importlib.abc.MetaPathFinder):
    """``root``: the folder the wheel's Python files were extracted into;
    ``top``: the server's top package; ``skip_init``: packages whose
    ``__init__.py`` does not run; ``auto``: glob patterns of placeholder
    modules; ``stub_dirs``: hand-written stubs (``<dotted.name>.py``),
    searched in order."""

    def __init__(self, root: str, top: str, skip_init: set[str], auto: list[str], stub_dirs: list[str]) -> None:
        self.root = root
        self.top = top
        self.skip_init = skip_init
        self.auto = auto
        self.stub_dirs = stub_dirs

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        for stub_dir in self.stub_dirs:
            stub = os.path.join(stub_dir, name + ".py")
            if os.path.exists(stub):
                return importlib.util.spec_from_file_location(name, stub, submodule_search_locations=[])
        if any(fnmatch.fnmatchcase(name, pat) for pat in self.auto):
            return importlib.machinery.ModuleSpec(name, _PlaceholderLoader(), is_package=True)
        if name != self.top and not name.startswith(self.top + "."):
            return None
        base = os.path.join(self.root, *name.split("."))
        if os.path.isdir(base):
            init = os.path.join(base, "__init__.py")
            if name not in self.skip_init and os.path.exists(init):
                return importlib.util.spec_from_file_location(name, init, submodule_search_locations=[base])
            spec = importlib.machinery.ModuleSpec(name, _EmptyPackageLoader(), is_package=True)
            spec.submodule_search_locations = [base]
            return spec
        if os.path.exists(base + ".py"):
            return importlib.util.spec_from_file_location(name, base + ".py")
        return None


def install(root: str, top: str, skip_init: set[str], auto: list[str], stub_dirs: list[str]) -> ServerFinder:
    finder = ServerFinder(root, top, skip_init, auto, stub_dirs)
    sys.meta_path.insert(0, finder)
    return finder
