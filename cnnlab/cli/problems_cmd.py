"""``cnnlab solve``, ``cnnlab check`` and ``cnnlab quiz``: problem files (docs/problems.md)."""

from __future__ import annotations

import argparse
import os
import sys

from cnnlab.api.problems import QUIZ_FORMATS, QUIZ_STEPS, SOLVE_STEPS
from cnnlab.cli import argtypes as at
from cnnlab.cli.argtypes import DOC_FORMATS, add_output_format
from cnnlab.cli.commands import add_command
from cnnlab.errors import UsageError
from cnnlab.userfiles import write_atomic

SOLVE_EXAMPLES = """\
examples:
  cnnlab solve sheet1                      # an example shipped with cnnlab (cnnlab examples list)
  cnnlab solve examples/problems/sheet1.yaml
  cnnlab solve examples/problems/sheet1.yaml --format latex --out sheet1.tex
  cnnlab solve examples/problems/sizes.yaml --format json

A problem file is YAML with given values and parts whose `ask` is an expression:
  given: {X: [[0, 1, 2], [3, 4, 5], [6, 7, 8]], K: [[1, 0], [0, -1]]}
  parts:
    - {id: a, ask: "O = conv2d(X, K, padding=1, flip=true)"}
    - {id: b, ask: "maxpool2d(relu(O), 2, stride=2)", answer: [[4, 4], [6, 4]]}

functions:
"""

CHECK_EXAMPLES = """\
examples:
  cnnlab check examples/problems/wrong_key.yaml
  cnnlab check examples/problems/wrong_key.yaml --format json

Exit status: 0 all claimed answers right, 1 some wrong, 2 bad input.
"""

QUIZ_EXAMPLES = """\
examples:
  cnnlab quiz --topics conv,pool,act --count 3 --seed 7
  cnnlab quiz --topics conv,padding,pool,act,softmax,shapes,separable --count 7 --seed 1 --out quiz.tex
  cnnlab quiz --topics shapes,rf,params --count 3 --seed 2 --out quiz.yaml && cnnlab check quiz.yaml
  cnnlab quiz --topics rgb,dilation,gradient,detect,chain --count 5 --seed 3 --steps full --out key.tex
  cnnlab quiz --from examples/problems/sheet1.yaml --seed 4 --out sheet1_v4.md
"""

_EXTENSIONS = {".md": "markdown", ".markdown": "markdown", ".tex": "latex", ".yaml": "yaml", ".yml": "yaml",
               ".txt": "text", ".json": "json"}


def _function_list() -> str:
    from cnnlab.problems.functions import FUNCTIONS

    return "\n".join(f"  {f.signature()}\n      {f.summary}" for f in FUNCTIONS.values())


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the solve, check and quiz commands."""
    p = add_command(subparsers, "solve", SOLVE_EXAMPLES + _function_list())
    p.add_argument("file", metavar="FILE",
                   help="problem file (YAML, at most 1 MB), or an example's name (cnnlab examples list)")
    add_output_format(p, DOC_FORMATS, default=None,
                      help="output format (default: from --out's extension, else text); "
                           "latex is a complete document")
    p.add_argument("--out", metavar="PATH", help="write to this file instead of stdout")
    p.add_argument("--max-cells", type=int, default=16, metavar="N",
                   help="output cells worked out per operation (default 16; 0 for all)")
    p.add_argument("--steps", choices=SOLVE_STEPS, default="auto",
                   help="compact: one worked cell per distinct computation (each output channel), the rest "
                        "in the result table; full: every cell; auto (default): compact for latex, else "
                        "--max-cells")
    p.set_defaults(func=run_solve)

    c = add_command(subparsers, "check", CHECK_EXAMPLES)
    c.add_argument("file", metavar="FILE",
                   help="problem file (YAML) with `answer:` in its parts, or an example's name")
    add_output_format(c, ("text", "json"))
    c.set_defaults(func=run_check)

    q = add_command(subparsers, "quiz", QUIZ_EXAMPLES)
    q.add_argument("--topics", default="conv,pool,act",
                   help="comma-separated topics: conv, padding, pool, act, softmax, shapes, separable, rf, "
                        "params, transposed, rgb, dilation, gradient, detect, chain (default conv,pool,act)")
    q.add_argument("--from", dest="from_file", metavar="FILE",
                   help="your own problem file with new numbers: every non-constant tensor in given is drawn "
                        "again (same shape, integers in its range, at most -9..9) and the key recomputed; "
                        "--topics and --count are then not used")
    q.add_argument("--count", type=int, default=3, help="number of problems (default 3)")
    q.add_argument("--seed", type=at.seed, default=0, help="random seed (default 0); the same seed, the same quiz")
    q.add_argument("--out", metavar="PATH", help="write to PATH; .md, .tex or .yaml picks the format")
    q.add_argument("--format", choices=QUIZ_FORMATS, default=None,
                   help="output format (default: from --out's extension, else markdown)")
    q.add_argument("--no-key", action="store_true", help="leave out the answer key (markdown/latex/text)")
    q.add_argument("--steps", nargs="?", const="compact", choices=QUIZ_STEPS, default=None,
                   help="give worked solutions in the key: compact (the default; one worked cell per distinct "
                        "computation, the rest tabulated) or full (every cell)")
    q.set_defaults(func=run_quiz)


def _format_for(out: str | None, given: str | None, default: str, allowed: tuple[str, ...]) -> str:
    if given:
        return given
    suffix = os.path.splitext(out)[1].lower() if out else ""
    if suffix:
        fmt = _EXTENSIONS.get(suffix)
        if fmt not in allowed:  # a .pdf or .docx would otherwise be written as plain text
            known = sorted(e for e, f in _EXTENSIONS.items() if f in allowed)
            raise UsageError(f"--out {out}: cannot write {suffix} here; use {', '.join(known)} "
                             f"or name the format with --format")
        return fmt
    return default


def _write(text: str, out: str | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    write_atomic(out, text, "--out file")  # no truncated file on a full disk
    print(f"wrote {out}", file=sys.stderr)


def run_solve(args: argparse.Namespace) -> int:
    """cnnlab solve: the flags -> :func:`cnnlab.solve` -> the result, printed or written."""
    from cnnlab.api.problems import solve

    fmt = _format_for(args.out, args.format, "text", DOC_FORMATS)
    _write(solve(args.file, max_cells=args.max_cells, steps=args.steps).output(fmt), args.out)
    return 0


def run_check(args: argparse.Namespace) -> int:
    """cnnlab check: :func:`cnnlab.check`; exit status 1 when a claimed answer is wrong."""
    from cnnlab.api.problems import check

    result = check(args.file)
    sys.stdout.write(result.output(args.format))
    return result.exit_status


def run_quiz(args: argparse.Namespace) -> int:
    """cnnlab quiz: the flags -> :func:`cnnlab.quiz` -> the quiz, printed or written."""
    from cnnlab.api.problems import quiz

    fmt = _format_for(args.out, args.format, "markdown", QUIZ_FORMATS)
    result = quiz(args.topics, args.count, args.seed, from_file=args.from_file, no_key=args.no_key,
                  steps=args.steps)
    _write(result.output(fmt), args.out)
    return 0
