"""cnnlab: exact CNN arithmetic with worked steps, and practical CNN training.

The Python API (docs/python.md) has one function per command; each returns a result
whose ``str()`` is the CLI's text, ``.to_json()`` its JSON and ``_repr_html_()`` the
notebook view::

    import cnnlab
    r = cnnlab.conv([[1, 2], [3, 4]], "1 0; 0 -1", padding=1, flip=True, steps=True)

The functions load on first use (PEP 562): ``import cnnlab`` imports neither torch nor
matplotlib (nor NumPy); the training functions import torch when called.

Five commands share their name with a sub-package (``cnnlab.arch``, ``train``,
``explain``, ``compare``, ``tune``): there ``cnnlab.NAME`` is the sub-package, made
callable, so ``cnnlab.arch("conv 3x3 8", "1x5x5")`` calls the command and
``cnnlab.arch.arch_table`` stays what it was.
"""

from __future__ import annotations

import sys
import types
from importlib import import_module
from typing import Any

from cnnlab.errors import UsageError

__version__ = "0.1.0"

# public name -> module of cnnlab.api that defines it (loaded when first used)
_API = {
    "conv": "ops", "pool": "ops", "act": "ops",
    "solve": "problems", "check": "problems", "quiz": "problems",
    "arch": "arch", "kernel": "kernels", "kernel_describe": "kernels", "kernel_list": "kernels",
    "train": "training", "evaluate": "training", "explain": "training", "compare": "training",
    "tune": "training",
    "Result": "result",
}
_PACKAGES = ("arch", "train", "explain", "compare", "tune")  # commands named as a sub-package

__all__ = ["__version__", "UsageError", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")
    value = getattr(import_module(f"cnnlab.api.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


class _CommandPackage(types.ModuleType):
    """A sub-package that is also its command: calling it calls ``cnnlab.api``'s function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = self.__name__.rsplit(".", 1)[1]
        return getattr(import_module(f"cnnlab.api.{_API[name]}"), name)(*args, **kwargs)


def _package(name: str) -> property:
    def get(self: types.ModuleType) -> types.ModuleType:
        module = sys.modules.get(f"cnnlab.{name}") or import_module(f"cnnlab.{name}")
        if not isinstance(module, _CommandPackage):
            module.__class__ = _CommandPackage
        return module

    def set(self: types.ModuleType, value: Any) -> None:  # the import system binds the sub-package here
        pass

    return property(get, set, doc=f"the cnnlab.{name} sub-package; calling it runs the {name} command")


class _Cnnlab(types.ModuleType):
    """The ``cnnlab`` module: its command sub-packages are callable (see the module docstring)."""


for _name in _PACKAGES:
    setattr(_Cnnlab, _name, _package(_name))
sys.modules[__name__].__class__ = _Cnnlab
del _name
