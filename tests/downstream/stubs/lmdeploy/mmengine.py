"""mmengine (OpenMMLab's training toolkit; it pulls in opencv and
matplotlib): lmdeploy uses only its ``Registry`` to register its parsers
by name. This is that registry's behaviour for the calls lmdeploy makes:
``register_module(name)`` as a decorator, ``module_dict`` and ``get``."""

from typing import Any, Callable


class Registry:
    def __init__(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.name = name
        self.module_dict: dict[str, Any] = {}

    def register_module(self, name: Any = None, force: bool = False, module: Any = None) -> Callable[[Any], Any]:
        def deco(cls: Any) -> Any:
            names = name if isinstance(name, (list, tuple)) else [name or cls.__name__]
            for n in names:
                self.module_dict[n] = cls
            return cls

        if module is not None:
            return deco(module)
        return deco

    def get(self, key: str) -> Any:
        return self.module_dict.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self.module_dict
