"""Which optional extra provides a missing module, and the one-line refusal that says so.

Below every face (the CLI, the server, a study's database driver check), so that each
can name the extra without importing another face.

``pip install cnnlab`` gives the arithmetic half (NumPy and PyYAML only). Commands that
train, filter photos or serve pages import their libraries lazily, inside the handler; when
one is missing, the ``ModuleNotFoundError`` travels up to the face (:func:`cnnlab.cli.main.main`, the server),
which asks :func:`refusal` for the ``error:`` line naming the extra to install
(docs/cli.md, "What a plain install can do"). A module that is not listed here, or a
submodule of a package that *is* installed, is a broken installation or a bug and keeps
its traceback.
"""

from __future__ import annotations

from typing import Iterator

__all__ = ["MODULE_EXTRAS", "missing_module", "refusal"]

# top-level import name -> (extra that installs it, name users know it by)
MODULE_EXTRAS: dict[str, tuple[str, str]] = {
    "torch": ("train", "PyTorch"),
    "torchvision": ("train", "torchvision"),
    "sklearn": ("train", "scikit-learn"),
    "skimage": ("kernels", "scikit-image"),
    "scipy": ("kernels", "SciPy"),
    "matplotlib": ("train", "matplotlib"),
    "PIL": ("train", "Pillow"),
    "rich": ("train", "rich"),
    "optuna": ("tune", "Optuna"),
    "sqlalchemy": ("tune", "SQLAlchemy (with Optuna)"),
    "safetensors": ("train", "safetensors"),
    "starlette": ("serve", "Starlette"),
    "uvicorn": ("serve", "uvicorn"),
    "psycopg": ("distributed", "psycopg 3 (the PostgreSQL driver)"),
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling (a library may wrap
    the import error: Optuna turns a missing database driver into a plain ImportError)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def missing_module(exc: BaseException) -> str | None:
    """The top-level module an optional extra would provide, if ``exc`` comes from its absence.

    >>> missing_module(ModuleNotFoundError("No module named 'torch'", name="torch"))
    'torch'
    >>> missing_module(ModuleNotFoundError("No module named 'torch._C'", name="torch._C")) is None
    True
    """
    for link in _chain(exc):
        name = getattr(link, "name", None)
        if isinstance(link, ModuleNotFoundError) and name in MODULE_EXTRAS:
            return name
    return None


def refusal(exc: BaseException, command: str = "this command") -> str | None:
    """The message (without ``error:``) for a missing optional module, else None.

    >>> refusal(ModuleNotFoundError(name="sklearn"), "cnnlab data info digits")
    "cnnlab data info digits needs scikit-learn, which a plain install leaves out: pip install 'cnnlab[train]'"
    """
    module = missing_module(exc)
    if module is None:
        return None
    extra, label = MODULE_EXTRAS[module]
    return f"{command} needs {label}, which a plain install leaves out: pip install 'cnnlab[{extra}]'"
