"""Activations, softmax and its Jacobian against torch; exact ReLU stays exact."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional
torch.set_num_threads(1)

from cnnlab import ops  # noqa: E402
from cnnlab.errors import UsageError  # noqa: E402


def test_elementwise_activations_match_torch():
    rng = np.random.default_rng(1)
    for shape in [(7,), (3, 4), (2, 3, 5), ()]:
        for scale in (1.0, 30.0, 800.0):  # 800: sigmoid must not overflow
            x = rng.standard_normal(shape) * scale
            t = torch.from_numpy(np.asarray(x, dtype=np.float64))
            np.testing.assert_allclose(ops.relu(x), F.relu(t).numpy())
            np.testing.assert_allclose(ops.sigmoid(x), torch.sigmoid(t).numpy(), rtol=1e-12, atol=1e-300)
            np.testing.assert_allclose(ops.tanh(x), torch.tanh(t).numpy(), rtol=1e-12)
            for slope in (0.01, 0.2, 1.5):
                np.testing.assert_allclose(ops.leaky_relu(x, slope), F.leaky_relu(t, slope).numpy(),
                                           rtol=1e-12)


def test_softmax_axes_match_torch():
    rng = np.random.default_rng(2)
    v = rng.standard_normal(6) * 5
    np.testing.assert_allclose(ops.softmax(v), F.softmax(torch.from_numpy(v), 0).numpy(), rtol=1e-12)
    m = rng.standard_normal((4, 5))  # rows
    np.testing.assert_allclose(ops.softmax(m), F.softmax(torch.from_numpy(m), 1).numpy(), rtol=1e-12)
    t = rng.standard_normal((3, 4, 5))  # over channels at each position
    np.testing.assert_allclose(ops.softmax(t), F.softmax(torch.from_numpy(t), 0).numpy(), rtol=1e-12)
    big = np.array([1000.0, 1001.0])  # no overflow
    np.testing.assert_allclose(ops.softmax(big), F.softmax(torch.from_numpy(big), 0).numpy())


def test_softmax_jacobian_matches_autograd():
    rng = np.random.default_rng(3)
    for n in (1, 2, 5):
        x = rng.standard_normal(n)
        want = torch.autograd.functional.jacobian(lambda t: F.softmax(t, 0), torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(ops.softmax_jacobian(x), want, atol=1e-12)
    with pytest.raises(UsageError):
        ops.softmax_jacobian(np.ones((2, 2)))


def test_hand_worked_activations():
    assert ops.relu(np.array([-1.5, 0.0, 2.0])).tolist() == [0, 0, 2]
    assert float(ops.sigmoid(np.array(0.0))) == 0.5
    assert ops.softmax(np.array([0.0, 0.0, 0.0, 0.0])).tolist() == [0.25] * 4
    # ln 3: e^x = 1 and 3 -> 1/4 and 3/4
    np.testing.assert_allclose(ops.softmax(np.array([0.0, np.log(3.0)])), [0.25, 0.75])
    x = ops.as_tensor([[-0.5, 0.25]], exact=True)
    assert ops.relu(x).tolist() == [[Fraction(0), Fraction(1, 4)]]
    assert ops.leaky_relu(x, 0.1).tolist() == [[Fraction(-1, 20), Fraction(1, 4)]]
    assert "sigmoid" in ops.IRRATIONAL and "relu" not in ops.IRRATIONAL


def test_unknown_activation_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown activation"):
        ops.get_activation("swishy")
