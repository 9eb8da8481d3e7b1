"""Problem files: solve, check and generate CNN problem sets with worked solutions (docs/problems.md).

A problem file (YAML, read safely with limits) gives named values and parts whose ``ask``
is an expression of a small language parsed with :mod:`ast` under a whitelist, never
eval'd. :func:`solve_set` evaluates every part, compares claimed answers under the
file's rounding and names the likely mistake; :mod:`cnnlab.problems.render` writes the
worked solutions; :mod:`cnnlab.problems.quiz` generates new sets with their key.

No torch here.
"""

from cnnlab.problems.loader import ProblemSet, load_problem_file, load_problem_text, parse_problem_set
from cnnlab.problems.solve import PartResult, SetResult, solve_set

__all__ = ["ProblemSet", "SetResult", "PartResult", "load_problem_file", "load_problem_text",
           "parse_problem_set", "solve_set"]
