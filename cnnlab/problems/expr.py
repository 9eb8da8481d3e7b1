"""The `ask` expression language: parsed by :mod:`ast` under a strict whitelist, never eval'd.

An ask is ``NAME = expr`` or a bare ``expr``. Allowed: numbers, strings, lists, tuples,
``true``/``false``/``none``, names, ``+ - * / **``, unary minus/plus, indexing and
slicing ``x[i, j]``, ``x[1:, :2]`` (from 0, as in Python; see docs/problems.md), and calls
of the functions in :mod:`cnnlab.problems.functions` by name with positional and keyword
arguments. Everything else (attributes, comprehensions, lambdas, dunder names,
comparisons, ...) is refused with a message naming the part and the token.

The evaluator walks the tree itself; every function call goes through
:func:`cnnlab.problems.functions.bind` and :func:`~cnnlab.problems.functions.invoke`, and
an optional *hook* may change a call's arguments or result — that is how the diagnosis
catalogue recomputes a part "with the kernel not flipped".

>>> ask = parse_ask("n = conv_output_size(5, 3, padding=1)", "part a")
>>> ask.target, evaluate(ask, {}, EvalContext(where="part a")).value
('n', 5)
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Callable

from cnnlab.errors import UsageError
from cnnlab.problems import algebra, functions, values

__all__ = ["Ask", "CallRecord", "EvalContext", "Evaluation", "CONSTANTS", "parse_ask", "evaluate",
           "check_names"]

# literal names a sheet may write the way YAML or Python would
CONSTANTS: dict[str, Any] = {"true": True, "false": False, "True": True, "False": False,
                             "none": None, "None": None, "null": None}

_MAX_NODES = 2_000  # AST nodes in one ask

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_REFUSED: dict[type, str] = {
    ast.Attribute: "attribute access is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.Lambda: "lambdas are not allowed",
    ast.Starred: "* and ** arguments are not allowed",
    ast.Dict: "mappings are not allowed in an expression",
    ast.Set: "sets are not allowed in an expression",
    ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "and/or are not allowed",
    ast.IfExp: "conditional expressions are not allowed",
    ast.NamedExpr: "assignment expressions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
}


@dataclass(frozen=True)
class Ask:
    """A parsed ask: the optional target name, the checked expression tree and its text."""

    target: str | None
    tree: ast.expr
    text: str
    where: str

    def source(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ""


@dataclass
class EvalContext:
    """Settings of one problem: exact (Fraction) arithmetic and where errors are reported."""

    exact: bool = False
    where: str = "ask"
    meter: Any = None  # a cost.WorkMeter: every call is charged to the file's work budget first


@dataclass
class CallRecord:
    """One function call made while evaluating an ask, in evaluation order."""

    index: int
    name: str
    args: dict[str, Any]  # bound and converted arguments
    source: str  # the call as written, e.g. "conv2d(X, K, padding=1)"
    result: Any
    depth: int  # 0 for the outermost call


@dataclass
class Evaluation:
    value: Any
    calls: list[CallRecord] = field(default_factory=list)


# hook(index, name, bound_args, depth) -> (bound_args, post) or None; post maps the result
Hook = Callable[[int, str, dict, int], "tuple[dict, Callable[[Any], Any] | None] | None"]


def _token(text: str, node: ast.AST) -> str:
    seg = ast.get_source_segment(text, node) or type(node).__name__
    seg = seg if len(seg) <= 40 else seg[:37] + "..."
    col = getattr(node, "col_offset", None)
    return f"'{seg}'" + (f" at column {col + 1}" if col is not None else "")


def _refuse(where: str, text: str, node: ast.AST, why: str) -> UsageError:
    return UsageError(f"{where}: {why}: {_token(text, node)}")


def parse_ask(text: str, where: str) -> Ask:
    """Parse and whitelist-check one ask; nothing is evaluated.

    >>> parse_ask("X.T", "part a")
    Traceback (most recent call last):
    ...
    cnnlab.errors.UsageError: part a: attribute access is not allowed: 'X.T' at column 1
    """
    text = text.strip()
    try:
        module = ast.parse(text, mode="exec")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        bad = ""
        if exc.offset and exc.text:
            bad = exc.text[exc.offset - 1:exc.offset + 9].split("\n")[0].strip()
            bad = f" near '{bad}'" if bad else ""
        raise UsageError(f"{where}: cannot parse '{text[:60]}': {exc.msg}{col}{bad}") from None
    except (RecursionError, MemoryError, ValueError):
        raise UsageError(f"{where}: the expression is nested too deeply") from None
    if len(module.body) != 1:
        raise UsageError(f"{where}: an ask is one expression or `NAME = expression`, got {len(module.body)} statements")
    stmt = module.body[0]
    target = None
    if isinstance(stmt, ast.Assign):
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
            raise _refuse(where, text, stmt.targets[0], "only `NAME = expression` may assign")
        target = stmt.targets[0].id
        _check_name(where, text, stmt.targets[0])
        if target in CONSTANTS or target in functions.FUNCTIONS:
            raise _refuse(where, text, stmt.targets[0], f"{target} is a reserved name")
        expr = stmt.value
    elif isinstance(stmt, ast.Expr):
        expr = stmt.value
    else:
        raise UsageError(f"{where}: an ask is one expression or `NAME = expression`: "
                         f"'{text[:40]}' is a {type(stmt).__name__} statement")
    _whitelist(where, text, expr)
    return Ask(target=target, tree=expr, text=text, where=where)


def _check_name(where: str, text: str, node: ast.Name) -> None:
    if "__" in node.id:
        raise _refuse(where, text, node, "dunder names are not allowed")


def _whitelist(where: str, text: str, expr: ast.expr) -> None:
    count = 0
    for node in ast.walk(expr):
        count += 1
        if count > _MAX_NODES:
            raise UsageError(f"{where}: the expression has more than {_MAX_NODES} parts")
        kind = type(node)
        if kind in _REFUSED:
            raise _refuse(where, text, node, _REFUSED[kind])
        if isinstance(node, ast.Name):
            _check_name(where, text, node)
            if not isinstance(node.ctx, ast.Load):
                raise _refuse(where, text, node, "assignment inside an expression is not allowed")
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, (bytes, complex)) or node.value is Ellipsis:
                raise _refuse(where, text, node, "only numbers and strings are allowed as literals")
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise _refuse(where, text, node, "only + - * / ** are allowed")
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise _refuse(where, text, node, "only unary minus and plus are allowed")
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                why = _REFUSED.get(type(node.func), "only functions called by name are allowed")
                raise _refuse(where, text, node.func, why)
            seen: set[str] = set()
            for kw in node.keywords:
                if kw.arg is None:
                    raise _refuse(where, text, kw.value, "* and ** arguments are not allowed")
                if "__" in kw.arg:
                    raise UsageError(f"{where}: dunder names are not allowed: '{kw.arg}'")
                if kw.arg in seen:  # Python's parser leaves this to the compiler: f(a=1, a=2)
                    raise _refuse(where, text, kw, f"the keyword argument '{kw.arg}' is given twice")
                seen.add(kw.arg)
        elif isinstance(node, (ast.List, ast.Tuple, ast.Subscript)):
            if not isinstance(node.ctx, ast.Load):
                raise _refuse(where, text, node, "assignment inside an expression is not allowed")
        elif isinstance(node, ast.Slice):
            pass
        elif isinstance(node, (ast.expr_context, ast.operator, ast.unaryop, ast.keyword)):
            pass
        else:
            raise _refuse(where, text, node, f"{kind.__name__} is not allowed")


def check_names(ask: Ask, known: set[str]) -> None:
    """Refuse unknown names and functions before anything is computed."""
    callees = {id(n.func) for n in ast.walk(ask.tree) if isinstance(n, ast.Call)}
    for node in ast.walk(ask.tree):
        if isinstance(node, ast.Call):
            name = node.func.id  # type: ignore[attr-defined]  # whitelisted: a Name
            if name not in functions.FUNCTIONS:
                near = functions.suggest(name)
                hint = f" (did you mean {near}?)" if near else " (see the function list in `cnnlab solve --help`)"
                raise _refuse(ask.where, ask.text, node.func, f"unknown function{hint}")
        elif isinstance(node, ast.Name) and node.id not in known and node.id not in CONSTANTS:
            if id(node) in callees:
                continue
            defined = ", ".join(sorted(known)) or "none"
            raise _refuse(ask.where, ask.text, node, f"unknown name (defined so far: {defined})")


def evaluate(ask: Ask, env: dict[str, Any], ctx: EvalContext, hook: Hook | None = None) -> Evaluation:
    """Evaluate a parsed ask against named values; records every function call."""
    calls: list[CallRecord] = []

    def ev(node: ast.expr, depth: int) -> Any:
        if isinstance(node, ast.Constant):
            return values.literal(node.value, ctx)
        if isinstance(node, ast.Name):
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            if node.id not in env:
                raise _refuse(ctx.where, ask.text, node, "unknown name")
            return env[node.id]
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [ev(e, depth) for e in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.UnaryOp):
            operand = ev(node.operand, depth)
            return values.negate(operand, ctx) if isinstance(node.op, ast.USub) else values.positive(operand, ctx)
        if isinstance(node, ast.BinOp):
            left, right = ev(node.left, depth), ev(node.right, depth)
            return values.binary(_BINOPS[type(node.op)], left, right, ctx)
        if isinstance(node, ast.Subscript):
            return _subscript(node, ev(node.value, depth), lambda e: ev(e, depth))
        if isinstance(node, ast.Call):
            name = node.func.id  # type: ignore[attr-defined]
            args = [ev(a, depth + 1) for a in node.args]
            kwargs = {kw.arg: ev(kw.value, depth + 1) for kw in node.keywords}
            bound = functions.bind(name, args, kwargs, ctx)
            index = len(calls)
            post = None
            if hook is not None:
                changed = hook(index, name, bound, depth)
                if changed is not None:
                    bound, post = changed
            result = functions.invoke(name, bound, ctx)
            if post is not None:
                result = post(result)
            calls.append(CallRecord(index, name, bound, ask.source(node), result, depth))
            return result
        raise _refuse(ctx.where, ask.text, node, f"{type(node).__name__} is not allowed")  # pragma: no cover

    def _subscript(node: ast.Subscript, base: Any, ev_item: Callable[[ast.expr], Any]) -> Any:
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if len(items) > algebra.MAX_INDEX_AXES:
            raise _refuse(ctx.where, ask.text, node, f"at most {algebra.MAX_INDEX_AXES} indices")

        def one(e: ast.expr) -> Any:
            if isinstance(e, ast.Slice):
                return slice(*(None if b is None else _index_int(ev_item(b), e) for b in (e.lower, e.upper, e.step)))
            v = ev_item(e)
            return v if isinstance(v, str) else _index_int(v, e)

        def _index_int(v: Any, e: ast.AST) -> int:
            i = functions._as_int(v)
            if i is None:
                raise _refuse(ctx.where, ask.text, e, f"an index must be a whole number, got {values.describe(v)}")
            return i

        key = tuple(one(e) for e in items)
        if isinstance(base, (list, tuple)) and not all(isinstance(v, str) for v in base):
            base = values.tensor(base, ctx, "the indexed value")
        return values.normalize(algebra.index(base, key)) if not isinstance(base, dict) else algebra.index(base, key)

    try:
        value = ev(ask.tree, 0)
    except UsageError as exc:  # every message names the part, wherever deep it was raised
        if str(exc).startswith(ctx.where):
            raise
        raise UsageError(f"{ctx.where}: {exc}") from None
    return Evaluation(value=value, calls=calls)
