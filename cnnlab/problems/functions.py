"""The function table of the ask language (docs/problems.md): names, arguments, implementations.

Each :class:`Function` lists its parameters with a kind that checks and converts the
argument (a tensor, an int, a padding, a choice of strings...), and names its
implementation as ``"module:attribute"``, imported only when the function is called, so
that a function whose module arrives later (``arch``) is one more line in
:data:`FUNCTIONS` and nothing else.

>>> bound = bind("conv_output_size", [5, 3], {"padding": 1}, _Ctx())
>>> invoke("conv_output_size", bound, _Ctx())
5
"""

from __future__ import annotations

import difflib
import importlib
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from cnnlab.errors import UsageError
from cnnlab.ops.padding import PADDING_MODES
from cnnlab.problems import values

__all__ = ["Param", "Function", "FUNCTIONS", "bind", "invoke", "suggest", "MAX_SIZE_ARG"]

MAX_SIZE_ARG = 100_000  # largest int given to a size function (the inverse solvers scan up to it)
_REQUIRED = object()
_PAD_WORDS = ("valid", "same", "full")
_MODES = tuple(PADDING_MODES)


class _Ctx:  # for the doctest
    exact = False
    where = "part"


@dataclass(frozen=True)
class Param:
    """One parameter: its name, kind (see :data:`_CONVERTERS`), default and extra checks."""

    name: str
    kind: str
    default: Any = _REQUIRED
    ndim: tuple[int, ...] | None = None  # allowed tensor ranks
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Function:
    """A function of the ask language."""

    name: str
    params: tuple[Param, ...]
    impl: str  # "module:attribute", imported lazily
    summary: str
    takes_exact: bool = False  # the implementation is called with exact=<the file's exact mode>

    def signature(self) -> str:
        """``conv2d(x, k, bias=0, ..., flip=false)`` as a sheet would write the call."""
        def one(p: Param) -> str:
            return p.name if p.default is _REQUIRED else f"{p.name}={_literal_text(p.default)}"
        return f"{self.name}({', '.join(one(p) for p in self.params)})"


def _literal_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    return "None" if v is None else str(v)


def _fail(ctx, fn: str, p: Param, want: str, got: Any) -> UsageError:
    return UsageError(f"{ctx.where}: {fn}: {p.name} must be {want}, got {values.describe(got)}")


def _as_int(v: Any) -> int | None:
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, Fraction)) and v == int(v):
        return int(v)
    return None


def _conv_int(fn, p, v, ctx):
    i = _as_int(v)
    if i is None:
        raise _fail(ctx, fn, p, "an integer", v)
    if abs(i) > MAX_SIZE_ARG:
        raise UsageError(f"{ctx.where}: {fn}: {p.name} = {i} is over the limit of {MAX_SIZE_ARG}")
    return i


def _conv_int_or_none(fn, p, v, ctx):
    return None if v is None else _conv_int(fn, p, v, ctx)


def _conv_pair(fn, p, v, ctx):
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise _fail(ctx, fn, p, "an integer or a pair [a, b]", v)
        return tuple(_conv_int(fn, p, e, ctx) for e in v)
    i = _as_int(v)
    if i is None:
        raise _fail(ctx, fn, p, "an integer or a pair [a, b]", v)
    return _conv_int(fn, p, v, ctx)


def _conv_pair_or_none(fn, p, v, ctx):
    return None if v is None else _conv_pair(fn, p, v, ctx)


def _conv_padding(fn, p, v, ctx):
    if isinstance(v, str):
        if v.lower() not in _PAD_WORDS:
            raise _fail(ctx, fn, p, "an integer, a pair, four sides or one of valid/same/full", v)
        return v.lower()
    if isinstance(v, (list, tuple)) and len(v) == 4:
        return tuple(_conv_int(fn, p, e, ctx) for e in v)
    return _conv_pair(fn, p, v, ctx)


def _conv_bool(fn, p, v, ctx):
    if not isinstance(v, (bool, np.bool_)):
        raise _fail(ctx, fn, p, "true or false", v)
    return bool(v)


def _conv_choice(fn, p, v, ctx):
    if not isinstance(v, str) or v.lower() not in p.choices:
        raise _fail(ctx, fn, p, "one of " + ", ".join(f'"{c}"' for c in p.choices), v)
    return v.lower()


def _conv_str(fn, p, v, ctx):
    if not isinstance(v, str):
        raise _fail(ctx, fn, p, "a string", v)
    return v


def _conv_number(fn, p, v, ctx):
    if not values.is_number(v):
        raise _fail(ctx, fn, p, "a number", v)
    return values.literal(v, ctx) if isinstance(v, float) else v


def _conv_tensor(fn, p, v, ctx):
    if not (values.is_number(v) or values.is_tensor_like(v)) or isinstance(v, bool):
        raise _fail(ctx, fn, p, "a number or a list of numbers", v)
    t = values.tensor(v, ctx, f"{fn}: {p.name}")
    if p.ndim is not None and t.ndim not in p.ndim:
        dims = " or ".join(f"{d}-D" for d in p.ndim)
        raise UsageError(f"{ctx.where}: {fn}: {p.name} must be {dims}, got {values.describe(t)}"
                         if t.ndim else f"{ctx.where}: {fn}: {p.name} must be {dims}, got {values.describe(v)}")
    return t


def _conv_bias(fn, p, v, ctx):
    if values.is_number(v):
        return _conv_number(fn, p, v, ctx)
    return _conv_tensor(fn, Param(p.name, "tensor", ndim=(1,)), v, ctx)


def _conv_any(fn, p, v, ctx):
    return v


_CONVERTERS: dict[str, Callable[[str, Param, Any, Any], Any]] = {
    "tensor": _conv_tensor, "int": _conv_int, "int?": _conv_int_or_none, "pair": _conv_pair,
    "pair?": _conv_pair_or_none, "padding": _conv_padding, "bool": _conv_bool, "choice": _conv_choice,
    "str": _conv_str, "number": _conv_number, "bias": _conv_bias, "any": _conv_any,
}


def _p(name: str, kind: str, default: Any = _REQUIRED, **kw: Any) -> Param:
    return Param(name, kind, default, **kw)


_X = _p("x", "tensor", ndim=(2, 3))
_ANY_X = _p("x", "tensor")
_KERNEL2 = _p("k", "tensor", ndim=(2,))
_P = "cnnlab.problems.builtins:"
_A = "cnnlab.problems.algebra:"
_AXIS = _p("axis", "int?", None)
_S = "cnnlab.ops.sizes:"

FUNCTIONS: dict[str, Function] = {f.name: f for f in (
    Function("conv2d", (_X, _p("k", "tensor", ndim=(2, 3, 4)), _p("bias", "bias", 0), _p("stride", "pair", 1),
                        _p("padding", "padding", 0), _p("padding_mode", "choice", "zeros", choices=_MODES),
                        _p("dilation", "pair", 1), _p("groups", "int", 1), _p("flip", "bool", False)),
             _P + "conv2d", "2-D cross-correlation (true convolution with flip=true)"),
    Function("conv_transpose2d", (_X, _p("k", "tensor", ndim=(2, 3, 4)), _p("bias", "bias", 0),
                                  _p("stride", "pair", 1), _p("padding", "pair", 0),
                                  _p("output_padding", "pair", 0), _p("dilation", "pair", 1)),
             _P + "conv_transpose2d", "transposed convolution, kernel C_in x C_out x kh x kw"),
    Function("pad", (_X, _p("padding", "padding"), _p("mode", "choice", "zeros", choices=_MODES)),
             _P + "pad", "pad the last two axes"),
    Function("maxpool2d", (_X, _p("size", "pair"), _p("stride", "pair?", None), _p("padding", "pair", 0),
                           _p("dilation", "pair", 1), _p("ceil_mode", "bool", False)),
             "cnnlab.ops:max_pool2d", "max pooling; stride defaults to the window size"),
    Function("avgpool2d", (_X, _p("size", "pair"), _p("stride", "pair?", None), _p("padding", "pair", 0),
                           _p("ceil_mode", "bool", False), _p("count_include_pad", "bool", True)),
             "cnnlab.ops:avg_pool2d", "average pooling; stride defaults to the window size"),
    Function("global_avgpool", (_X,), "cnnlab.ops:global_avg_pool", "mean of each channel"),
    Function("global_maxpool", (_X,), "cnnlab.ops:global_max_pool", "maximum of each channel"),
    Function("relu", (_ANY_X,), _P + "relu", "max(x, 0)"),
    Function("sigmoid", (_ANY_X,), _P + "sigmoid", "1 / (1 + e^-x)"),
    Function("tanh", (_ANY_X,), _P + "tanh", "hyperbolic tangent"),
    Function("leaky_relu", (_ANY_X, _p("slope", "number", 0.01)), _P + "leaky_relu", "x if x > 0 else slope*x"),
    Function("softmax", (_p("x", "tensor", ndim=(1, 2, 3)),), "cnnlab.ops:softmax",
             "softmax of a vector, of each row, or over channels"),
    Function("softmax_jacobian", (_p("x", "tensor", ndim=(1,)),), "cnnlab.ops:softmax_jacobian",
             "J[i][j] = dp_i/dx_j"),
    Function("sqrt", (_ANY_X,), _P + "sqrt", "square root, element-wise"),
    Function("abs", (_ANY_X,), _P + "absolute", "absolute value, element-wise"),
    Function("sum", (_ANY_X, _AXIS), _A + "total", "sum of all elements, or along axis (counted from 0)"),
    Function("mean", (_ANY_X, _AXIS), _A + "mean", "mean of all elements, or along axis (counted from 0)"),
    Function("max", (_ANY_X, _AXIS), _A + "maximum", "largest element, or the largest along axis"),
    Function("min", (_ANY_X, _AXIS), _A + "minimum", "smallest element, or the smallest along axis"),
    Function("exp", (_ANY_X,), _A + "exp", "e^x, element-wise"),
    Function("log", (_ANY_X,), _A + "log", "natural logarithm, element-wise (x > 0)"),
    Function("transpose", (_ANY_X,), _A + "transpose", "rows and columns swapped (the last two axes)"),
    Function("row", (_p("x", "tensor", ndim=(2,)), _p("i", "int")), _P + "row", "row i (from 1)"),
    Function("column", (_p("x", "tensor", ndim=(2,)), _p("j", "int")), _P + "column", "column j (from 1)"),
    Function("channel", (_p("x", "tensor", ndim=(3,)), _p("c", "int")), _P + "channel", "channel c (from 1)"),
    Function("flip", (_p("k", "tensor", ndim=(2, 3, 4)),), "cnnlab.ops:flip", "kernel rotated by 180 degrees"),
    Function("rank", (_KERNEL2,), "cnnlab.kernels.separable:rank", "matrix rank of a kernel"),
    Function("separable", (_KERNEL2,), _P + "separable", "is k = column x row? with the factors"),
    Function("kernel", (_p("name", "str"),), _P + "kernel", 'a named kernel: "sobel_x", "gaussian:5:1.0"',
             takes_exact=True),
    Function("describe_kernel", (_KERNEL2,), _P + "describe_kernel", "sum, rank, probe responses of a kernel"),
    Function("conv_output_size", (_p("n", "int"), _p("k", "int"), _p("stride", "int", 1), _p("padding", "int", 0),
                                  _p("dilation", "int", 1)), _S + "conv_output_size",
             "floor((n + 2p - d(k-1) - 1)/s) + 1"),
    Function("pool_output_size", (_p("n", "int"), _p("k", "int"), _p("stride", "int?", None), _p("padding", "int", 0),
                                  _p("ceil_mode", "bool", False)), _S + "pool_output_size",
             "pooling output size (PyTorch's ceil_mode rule)"),
    Function("solve_padding", (_p("n_in", "int"), _p("n_out", "int"), _p("k", "int"), _p("stride", "int", 1),
                               _p("dilation", "int", 1)), _S + "solve_padding", "per-side padding giving n_out"),
    Function("solve_kernel", (_p("n_in", "int"), _p("n_out", "int"), _p("stride", "int", 1), _p("padding", "int", 0),
                              _p("dilation", "int", 1)), _S + "solve_kernel", "kernel size giving n_out"),
    # pyramids: scikit-image's conventions (docs/kernels.md, "Pyramids")
    Function("pyramid", (_p("x", "tensor", ndim=(2,)), _p("levels", "int"),
                         _p("kind", "choice", "gaussian", choices=("gaussian", "laplacian")),
                         _p("level", "int?", None)),
             "cnnlab.kernels.pyramid:pyramid", "Gaussian (or Laplacian) pyramid, each level smoothed "
             "(sigma 2/3) and halved: {sizes, level0, level1, ...}, or level=k alone"),
    Function("arch", (_p("spec", "any"), _p("input", "any")), _P + "arch",
             "the architecture table of `cnnlab arch` (layers, shapes, parameters, MACs)"),
)}


def suggest(name: str) -> str | None:
    """The closest known function name, for "did you mean" messages."""
    close = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
    return close[0] if close else None


def bind(name: str, args: list, kwargs: dict, ctx) -> dict[str, Any]:
    """Bind positional and keyword arguments to parameters, checking and converting each."""
    fn = FUNCTIONS.get(name)
    if fn is None:
        raise UsageError(f"{ctx.where}: unknown function '{name}'")
    params = fn.params
    if len(args) > len(params):
        raise UsageError(f"{ctx.where}: {fn.signature()} takes at most {len(params)} arguments, "
                         f"got {len(args)}")
    raw: dict[str, Any] = {p.name: a for p, a in zip(params, args)}
    names = {p.name for p in params}
    for key, v in kwargs.items():
        if key not in names:
            near = difflib.get_close_matches(key, list(names), n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise UsageError(f"{ctx.where}: {name} has no argument '{key}'{hint}; it is {fn.signature()}")
        if key in raw:
            raise UsageError(f"{ctx.where}: {name}: argument '{key}' is given twice")
        raw[key] = v
    bound: dict[str, Any] = {}
    for p in params:
        if p.name not in raw:
            if p.default is _REQUIRED:
                raise UsageError(f"{ctx.where}: {name} needs the argument '{p.name}': {fn.signature()}")
            bound[p.name] = p.default
            continue
        bound[p.name] = _CONVERTERS[p.kind](name, p, raw[p.name], ctx)
    return _floats_win(bound)


def _floats_win(bound: dict[str, Any]) -> dict[str, Any]:
    """Exact tensors as floats when another tensor argument is a float tensor.

    In exact mode a float tensor comes only from an irrational value (``sigmoid``, a
    Gaussian kernel): mixing it with fractions gives floats, as ``+`` does, instead of
    turning its 17-digit decimals into fractions (docs/problems.md, "Exact mode").
    """
    tensors = [v for v in bound.values() if isinstance(v, np.ndarray)]
    if not any(t.dtype != object for t in tensors) or not any(t.dtype == object for t in tensors):
        return bound
    return {k: (v.astype(np.float64) if isinstance(v, np.ndarray) and v.dtype == object else v)
            for k, v in bound.items()}


def implementation(name: str) -> Callable[..., Any]:
    """Import the function's implementation (lazily: modules may arrive later)."""
    module_name, attr = FUNCTIONS[name].impl.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if module_name.startswith(exc.name or "\0"):
            raise UsageError(f"{name}(...) is not available in this installation ({module_name} is missing)") from None
        raise
    return getattr(module, attr)


def invoke(name: str, bound: dict[str, Any], ctx) -> Any:
    """Call the implementation with bound arguments; the result tidied (NumPy scalars to Python)."""
    impl = implementation(name)
    if FUNCTIONS[name].takes_exact:
        bound = dict(bound, exact=bool(ctx.exact))
    meter = getattr(ctx, "meter", None)
    if meter is not None:
        meter.charge(name, bound, ctx.exact)
    try:
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            result = impl(**bound)
    except UsageError as exc:
        named = str(exc).startswith((f"{name}:", f"{name} "))  # "arch: spec must be..." names itself
        raise UsageError(f"{ctx.where}: {exc}" if named else f"{ctx.where}: {name}: {exc}") from None
    except (ZeroDivisionError, FloatingPointError, OverflowError) as exc:
        raise UsageError(f"{ctx.where}: {name}: arithmetic error ({exc})") from None
    if isinstance(result, float) and not math.isfinite(result):
        raise UsageError(f"{ctx.where}: {name}: the result is not finite")
    # BLAS sums do not raise under errstate: an overflow shows up as inf in the array
    if isinstance(result, np.ndarray) and result.dtype != object and not np.isfinite(result).all():
        raise UsageError(f"{ctx.where}: {name}: the result overflows (values over about 1.8e308)")
    if not isinstance(result, dict) and not values.in_range(result):  # exact numbers beyond the float range
        raise UsageError(f"{ctx.where}: {name}: the result overflows (values over about 1.8e308)")
    return values.normalize(result) if not isinstance(result, dict) else result
