"""`cnnlab conv` loads only what a convolution needs (start-up: benchmarks/bench_startup.py).

A constant moved to the wrong module once made every command import the problem language
(1.32x -> 1.93x `python -c "import numpy"`); this checks the modules, not a time.
"""

import subprocess
import sys

PROBE = """
import sys
from cnnlab.cli.main import main
assert main(["conv", "--input", "1 2 3; 4 5 6; 7 8 9", "--kernel", "1 0; 0 -1"]) == 0
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"torch", "matplotlib", "scipy", "optuna", "yaml"}
               or m.startswith(("cnnlab.problems", "cnnlab.arch", "cnnlab.train", "cnnlab.tune", "cnnlab.kernels")))
print("HEAVY", heavy)
"""


def test_conv_imports_neither_the_problem_language_nor_torch():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    heavy = done.stdout.strip().splitlines()[-1]
    assert heavy == "HEAVY []", heavy
