"""The input rows a convolution never reads (`unused_input`), against torch's gradient.

A row is unused exactly when the sum of a convolution's outputs does not depend on it:
with a kernel of ones, torch's gradient of that sum is 0 there and positive elsewhere.
"""

from __future__ import annotations

import itertools

import pytest

from cnnlab.errors import UsageError
from cnnlab.ops.padding import conv_unused_note
from cnnlab.ops.sizes import unused_input

torch = pytest.importorskip("torch")


def torch_unused(n: int, k: int, s: int, p: tuple[int, int], d: int) -> list[int]:
    x = torch.ones(1, 1, 1, n, requires_grad=True)
    padded = torch.nn.functional.pad(x, (p[0], p[1]))
    torch.nn.functional.conv2d(padded, torch.ones(1, 1, 1, k), stride=(1, s), dilation=(1, d)).sum().backward()
    return [i for i in range(n) if x.grad[0, 0, 0, i] == 0]


@pytest.mark.parametrize("n,k,s,d", [(n, k, s, d) for n, k, s, d in itertools.product(range(1, 9), range(1, 5), range(1, 5), (1, 2))
                                     if d * (k - 1) + 1 <= n + 2])
def test_unused_input_matches_torch(n, k, s, d):
    for p in [(0, 0), (1, 1), (0, 2)]:
        if d * (k - 1) + 1 > n + p[0] + p[1]:
            continue
        assert unused_input(n, k, s, p, d) == torch_unused(n, k, s, p, d), (n, k, s, p, d)


def test_the_issue_case_and_its_note():
    assert unused_input(4, 3, 2) == [3]  # input 4, kernel 3, stride 2: the last row
    assert conv_unused_note((4, 5), (3, 3), 2, 0) == (
        "note: no window reads input row 4 (counted from 1): the stride does not fit the input")
    assert conv_unused_note((4, 4), (3, 3), 1, "same") is None
    assert conv_unused_note((5, 5), (1, 1), 2, 0) == (
        "note: no window reads input rows 2, 4 or columns 2, 4 (counted from 1): the stride does not fit the input")
    with pytest.raises(UsageError):
        unused_input(2, 5, 1)
