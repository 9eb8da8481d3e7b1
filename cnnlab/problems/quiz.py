"""Randomised problem sets with an answer key, reproducible by seed.

Each topic of :data:`TOPICS` builds one problem of the BRIEF's pen-and-paper catalogue
(a convolution, padding modes, pooling, activations, softmax, output sizes, inverse
sizes, separability, receptive fields, parameter counts, transposed convolution) with
numbers a student can work by hand: small integers, 4×4 to 6×6 inputs, 2×2 or 3×3
kernels, answers that need at most a course calculator. The key is made by solving the
generated file with :func:`cnnlab.problems.solve.solve_set`, so a generated YAML solves
to its own key.

>>> q = generate_quiz(["pool"], count=1, seed=3)
>>> [p["id"] for p in q["problems"][0]["parts"]]
['a', 'b', 'c']
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from cnnlab.errors import UsageError
from cnnlab.problems.loader import parse_problem_set
from cnnlab.problems.quiz_topics import MORE_TOPICS
from cnnlab.problems.solve import solve_set
from cnnlab.steps import exact_string, round_half_away, to_json_value

__all__ = ["TOPICS", "generate_quiz", "quiz_key", "attach_key"]

MAX_COUNT = 100  # problems in one quiz
_MODES = ("reflect", "replicate", "circular", "symmetric")


def _matrix(rng: random.Random, h: int, w: int, lo: int, hi: int) -> list[list[int]]:
    return [[rng.randint(lo, hi) for _ in range(w)] for _ in range(h)]


def _kernel(rng: random.Random, k: int) -> list[list[int]]:
    """A small integer kernel that is not symmetric under a 180° turn (so flip matters)."""
    while True:
        K = _matrix(rng, k, k, -1, 2)
        if np.any(np.array(K) != np.array(K)[::-1, ::-1]) and any(v for row in K for v in row):
            return K


def _conv(rng: random.Random) -> dict:
    n, k = rng.choice([(4, 2), (5, 3), (5, 2), (4, 3)])
    bias = rng.randint(-2, 2) or 1
    stride_p = (2, 1) if (n + 2 - k) % 2 == 0 else (2, 0)
    s, p = stride_p
    return {
        "title": "Convolution by hand",
        "given": {"X": _matrix(rng, n, n, 0, 4), "K": _kernel(rng, k)},
        "parts": [
            {"id": "a", "ask": "Y = conv2d(X, K)",
             "text": "Compute the output Y of a convolution layer with kernel K (cross-correlation, as "
                     "PyTorch computes it), no padding, stride 1, no bias."},
            {"id": "b", "ask": f"conv2d(X, K, bias={bias}, flip=true)",
             "text": f"Compute the true convolution of X with K (the kernel rotated by 180°), "
                     f"no padding, plus a bias of {bias}."},
            {"id": "c", "ask": f"conv2d(X, K, stride={s}, padding={p})",
             "text": f"Compute the cross-correlation with {f'zero padding {p}' if p else 'no padding'} "
                     f"and stride {s}."},
        ],
    }


def _padding(rng: random.Random) -> dict:
    mode = rng.choice(_MODES)
    n = rng.choice([3, 4])
    k = rng.choice([3, 5, 7])
    size = rng.choice([16, 28, 32])
    return {
        "title": f"Padding ({mode})",
        "given": {"X": _matrix(rng, n, n, 0, 5), "K": _kernel(rng, 3)},
        "parts": [
            {"id": "a", "ask": f'P = pad(X, 1, mode="{mode}")',
             "text": f"Pad X with one row and column on every side, in {mode} mode."},
            {"id": "b", "ask": f'conv2d(X, K, padding=1, padding_mode="{mode}")',
             "text": f"Compute the cross-correlation of X with K, padding 1 in {mode} mode "
                     "(the output keeps the input size)."},
            {"id": "c", "ask": f"solve_padding({size}, {size}, {k})",
             "text": f"Which zero padding p per side keeps a {size}×{size} input at {size}×{size} "
                     f"under a {k}×{k} convolution with stride 1?"},
        ],
    }


def _pool(rng: random.Random) -> dict:
    n = rng.choice([4, 6])
    return {
        "title": "Pooling",
        "round": 2,
        "given": {"X": _matrix(rng, n, n, 0, 9)},
        "parts": [
            {"id": "a", "ask": "maxpool2d(X, 2)", "text": "Max-pool X with 2×2 windows and stride 2."},
            {"id": "b", "ask": "avgpool2d(X, 2)", "text": "Average-pool X with 2×2 windows and stride 2."},
            {"id": "c", "ask": "maxpool2d(X, 3, stride=2, ceil_mode=true)" if n == 4 else "maxpool2d(X, 3, stride=1)",
             "text": ("Max-pool X with 3×3 windows, stride 2, rounding the output size up (ceil mode)."
                      if n == 4 else "Max-pool X with overlapping 3×3 windows and stride 1.")},
        ],
    }


def _act(rng: random.Random) -> dict:
    values = [-2, -1, -0.5, 0, 0.5, 1, 2]
    x = [[rng.choice(values) for _ in range(3)] for _ in range(2)]
    return {
        "title": "Activations",
        "round": 3,
        "given": {"Z": x},
        "parts": [
            {"id": "a", "ask": "relu(Z)", "text": "Apply ReLU to Z."},
            {"id": "b", "ask": "leaky_relu(Z, slope=0.1)", "text": "Apply leaky ReLU with slope 0.1."},
            {"id": "c", "ask": "sigmoid(Z)", "text": "Apply the sigmoid σ(z) = 1/(1 + e^(−z))."},
            {"id": "d", "ask": "tanh(Z)", "text": "Apply tanh."},
        ],
    }


def _softmax(rng: random.Random) -> dict:
    z = [rng.randint(-1, 3) for _ in range(3)]
    return {
        "title": "Softmax and its Jacobian",
        "round": 3,
        "given": {"z": z},
        "parts": [
            {"id": "a", "ask": "p = softmax(z)", "text": "Compute the softmax p of the scores z."},
            {"id": "b", "ask": "softmax_jacobian(z)",
             "text": "Compute the Jacobian J[i][j] = ∂p_i/∂z_j = p_i(δ_ij − p_j)."},
        ],
    }


def _shapes(rng: random.Random) -> dict:
    n, k, s, p = rng.choice([(227, 11, 4, 0), (224, 7, 2, 3), (32, 5, 1, 2), (28, 5, 1, 0), (64, 3, 2, 1),
                             (96, 3, 2, 0), (55, 3, 2, 0), (32, 3, 1, 1)])
    m = rng.choice([7, 9, 13, 15])
    d = rng.choice([2, 3])
    n_out = rng.choice([24, 26, 28, 30])
    return {
        "title": "Output sizes",
        "parts": [
            {"id": "a", "ask": f"conv_output_size({n}, {k}, stride={s}, padding={p})",
             "text": f"A {n}×{n} input goes through a {k}×{k} convolution with stride {s} and padding {p}. "
                     "What is the side of the output?"},
            {"id": "b", "ask": f"pool_output_size({m}, 2, ceil_mode=true)",
             "text": f"A {m}×{m} map is max-pooled with 2×2 windows, stride 2, in ceil mode. Output side?"},
            {"id": "c", "ask": f"conv_output_size(32, 3, dilation={d})",
             "text": f"A 3×3 kernel with dilation {d} slides over a 32×32 input (stride 1, no padding). "
                     "Output side?"},
            {"id": "d", "ask": f"solve_kernel(32, {n_out})",
             "text": f"Which kernel size turns a 32×32 input into {n_out}×{n_out} (stride 1, no padding)?"},
        ],
    }


def _separable(rng: random.Random) -> dict:
    col = [rng.choice([1, 2, -1]) for _ in range(3)]
    row = [rng.choice([-1, 0, 1, 2]) for _ in range(3)]
    row[0] = row[0] or 1
    A = [[c * r for r in row] for c in col]
    while True:
        B = _matrix(rng, 3, 3, -1, 2)
        if np.linalg.matrix_rank(np.array(B, dtype=float)) >= 2:
            break
    return {
        "title": "Separable filters",
        "given": {"A": A, "B": B},
        "parts": [
            {"id": "a", "ask": "separable(A)",
             "text": "Is A separable? If so, give a column c and a row r with A = c ⊗ r."},
            {"id": "b", "ask": "separable(B)", "text": "Is B separable?"},
            {"id": "c", "ask": "rank(B)", "text": "What is the rank of B?"},
        ],
    }


def _layers(rng: random.Random) -> tuple[str, list[int]]:
    c = rng.choice([1, 3])
    side = rng.choice([28, 32])
    k1, k2 = rng.choice([3, 5]), 3
    c1, c2 = rng.choice([6, 8, 16]), rng.choice([16, 32])
    spec = f"conv {k1}x{k1} {c1}; relu; maxpool 2x2; conv {k2}x{k2} {c2}; relu; maxpool 2x2"
    return spec, [c, side, side]


def _rf(rng: random.Random) -> dict:
    spec, shape = _layers(rng)
    return {
        "title": "Receptive field",
        "given": {"net": spec},
        "parts": [{"id": "a", "ask": f"arch(net, {shape})", "_keys": ["receptive_field"],
                   "text": f"For the network `{spec}` on a {'×'.join(map(str, shape))} input, give the "
                           "receptive field of a unit after each layer."}],
    }


def _params(rng: random.Random) -> dict:
    spec, shape = _layers(rng)
    return {
        "title": "Parameters and shapes",
        "given": {"net": spec},
        "parts": [{"id": "a", "ask": f"arch(net, {shape})", "_keys": ["output_shape", "params"],
                   "_top": ["total_params"],
                   "text": f"For the network `{spec}` on a {'×'.join(map(str, shape))} input, give the "
                           "output shape and the number of parameters (weights + biases) of each layer, "
                           "and the total."}],
    }


def _transposed(rng: random.Random) -> dict:
    return {
        "title": "Transposed convolution",
        "given": {"X": _matrix(rng, 2, 2, 1, 3), "K": _matrix(rng, 2, 2, -1, 2)},
        "parts": [
            {"id": "a", "ask": "conv_transpose2d(X, K, stride=2)",
             "text": "Compute the transposed convolution of X with K, stride 2 (each input value "
                     "scatters a scaled copy of K)."},
            {"id": "b", "ask": "conv_transpose2d(X, K, stride=1)", "text": "The same with stride 1 (overlaps add)."},
        ],
    }


TOPICS: dict[str, Callable[[random.Random], dict]] = {
    "conv": _conv, "padding": _padding, "pool": _pool, "act": _act, "softmax": _softmax,
    "shapes": _shapes, "separable": _separable, "rf": _rf, "params": _params, "transposed": _transposed,
    **MORE_TOPICS,
}
_REDRAWS = 50  # tries to draw a problem unlike every earlier one of the quiz


def _key_value(v: Any, round: int | None) -> Any:
    """A computed value as a claimed answer in YAML: rounded floats, exact fractions as "a/b"."""
    if isinstance(v, Fraction) and v.denominator != 1:
        return exact_string(v)
    if isinstance(v, np.ndarray) and v.dtype == object and any(isinstance(e, Fraction) and e.denominator != 1
                                                               for e in v.flat):
        return [_key_value(e, round) for e in v] if v.ndim else _key_value(v.item(), round)
    if isinstance(v, dict):
        return {k: _key_value(e, round) for k, e in v.items()}
    if isinstance(v, (list, tuple)):
        return [_key_value(e, round) for e in v]
    if round is not None and not isinstance(v, (bool, str)) and v is not None:
        v = round_half_away(v, round)
    return _ints(to_json_value(v))


def _ints(v: Any) -> Any:
    """Whole floats as ints, so a key reads [2, -1] rather than [2.0, -1.0]."""
    if isinstance(v, list):
        return [_ints(e) for e in v]
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _arch_key(table: dict, keys: list[str], top: list[str]) -> dict:
    out: dict[str, Any] = {"layers": [{k: layer[k] for k in keys} for layer in table["layers"]]}
    out.update({k: table[k] for k in top})
    return out


def generate_quiz(topics: list[str], count: int, seed: int) -> dict:
    """A problem file (``problems:`` list) with claimed answers that are the key.

    Problems cycle through ``topics`` in order; problem i uses its own generator seeded
    from (seed, i), so the same seed gives the same quiz. A problem that comes out like an
    earlier one is drawn again (from (seed, i, attempt)), so no two items are identical.
    """
    unknown = [t for t in topics if t not in TOPICS]
    if unknown or not topics:
        raise UsageError(f"unknown quiz topic{'s' if len(unknown) > 1 else ''} {', '.join(unknown) or '(none)'}: "
                         f"choose from {', '.join(TOPICS)}")
    if not 1 <= count <= MAX_COUNT:
        raise UsageError(f"--count must be from 1 to {MAX_COUNT}, got {count}")
    problems: list[dict] = []
    seen: set[str] = set()
    for i in range(count):
        topic = topics[i % len(topics)]
        for attempt in range(_REDRAWS):  # no two problems of a quiz alike (a topic has few shapes)
            rng = random.Random(f"{seed}:{i}:{topic}" + (f":{attempt}" if attempt else ""))
            problem = TOPICS[topic](rng)
            fingerprint = repr((problem.get("given"), [p["ask"] for p in problem["parts"]]))
            if fingerprint not in seen:
                break
        seen.add(fingerprint)
        problems.append(problem)
    return attach_key({"title": f"CNN problem set (seed {seed})", "problems": problems})


def attach_key(quiz: dict) -> dict:
    """Solve a quiz (a problem file as a dict) and write each part's ``answer`` from the result."""
    problems = quiz["problems"]
    arch_parts = {}
    for i, prob in enumerate(problems):  # remember which keys of an arch table a part asks for
        for part in prob["parts"]:
            if "_keys" in part:
                arch_parts[(i, part["id"])] = (part.pop("_keys"), part.pop("_top", []))
    solved = solve_set(parse_problem_set(quiz, "quiz"), check=False)
    for prob in solved.problems:
        for pr in prob.parts:
            raw = problems[prob.index]["parts"][[p["id"] for p in problems[prob.index]["parts"]].index(pr.part.id)]
            keys = arch_parts.get((prob.index, pr.part.id))
            raw["answer"] = _arch_key(pr.value, *keys) if keys else _key_value(pr.value, pr.round)
    return quiz


def quiz_key(quiz: dict) -> dict:
    """The solved quiz (a :class:`~cnnlab.problems.solve.SetResult`) for rendering the key."""
    return solve_set(parse_problem_set(quiz, "quiz"), check=True)
