"""Operation counts of full vs separable filtering, and a small timing run."""

import pytest

from cnnlab.errors import UsageError
from cnnlab.kernels.cost import loglog_slope, measure_cost, operation_counts


@pytest.mark.parametrize("n,k", [(1, 1), (10, 2), (64, 3), (100, 7), (256, 31)])
def test_counts_by_hand(n, k):
    c = operation_counts(n, k)
    assert c["full_mults"] == n * n * k * k and c["separable_mults"] == 2 * n * n * k
    assert c["full_adds"] == n * n * (k * k - 1) and c["separable_adds"] == 2 * n * n * (k - 1)
    assert c["ratio"] == pytest.approx(k / 2)


def test_counts_crossover_at_k_2():
    assert operation_counts(10, 2)["full_mults"] == operation_counts(10, 2)["separable_mults"]
    assert all(operation_counts(10, k)["separable_mults"] < operation_counts(10, k)["full_mults"]
               for k in range(3, 40))


def test_loglog_slope_recovers_exponents():
    ks = [3, 5, 9, 17]
    assert loglog_slope(ks, [7 * k**2 for k in ks]) == pytest.approx(2)
    assert loglog_slope(ks, [0.1 * k for k in ks]) == pytest.approx(1)


def test_small_measurement_agrees_and_separable_wins_for_big_kernels():
    r = measure_cost([96], [3, 25], repeats=2)
    assert [(row.n, row.k) for row in r.rows] == [(96, 3), (96, 25)]
    assert all(row.max_difference < 1e-12 and row.full_s > 0 and row.separable_s > 0 for row in r.rows)
    big = r.rows[1]
    assert big.separable_s < big.full_s  # 625 vs 50 multiplies per pixel
    assert r.crossover[96] in (3, 25)


@pytest.mark.parametrize("sizes,ks,match", [
    ([64], [65], "larger than the image"), ([5000], [3], "4096"), ([64], [0], "positive"),
    ([4096], [101], "over the limit"), ([], [3], "at least one"),
])
def test_bad_cost_arguments(sizes, ks, match):
    with pytest.raises(UsageError, match=match):
        measure_cost(sizes, ks)
