"""cnnlab: exact CNN arithmetic with worked steps, and practical CNN training.

The Python API (docs/python.md) has one function per command; each returns a result
whose ``str()`` is the CLI's text, ``.to_json()`` its JSON and ``_repr_html_()`` the
notebook view::

    import cnnlab
    r = cnnlab.conv([[1, 2], [3, 4]], "1 0; 0 -1", padding=1, flip=True, steps=True)

The functions load on first use: ``import cnnlab`` imports neither torch nor matplotlib
(nor NumPy); the training functions import torch when called.
"""

from __future__ import annotations

from typing import Any

from cnnlab.errors import UsageError

__version__ = "0.1.0"

# public name -> module of cnnlab.api that defines it (loaded when first used: PEP 562)
_API = {
    "conv": "ops", "pool": "ops", "act": "ops",
    "solve": "problems", "check": "problems", "quiz": "problems",
    "arch": "arch", "kernel": "kernels", "kernel_describe": "kernels", "kernel_list": "kernels",
    "train": "training", "evaluate": "training", "explain": "training", "compare": "training",
    "tune": "training",
    "Result": "result",
}

__all__ = ["__version__", "UsageError", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"cnnlab.api.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
