"""Stratified, deterministic splits; statistics from the training split only; batching."""

import numpy as np
import pytest

from cnnlab.data import iter_batches, load_dataset, stratified_split
from cnnlab.data.split import channel_stats, stratified_subsample


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("counts", [[10, 20, 30], [1, 2, 50], [100, 3]])
def test_split_is_stratified_disjoint_and_complete(seed, counts):
    y = np.repeat(np.arange(len(counts)), counts)
    y = y[np.random.default_rng(99).permutation(len(y))]  # labels in any order
    train, val, test = stratified_split(y, (0.1, 0.2), seed)
    together = np.concatenate([train, val, test])
    assert len(together) == len(y) and len(np.unique(together)) == len(y)
    for label, n in enumerate(counts):
        n_val, n_test = (y[val] == label).sum(), (y[test] == label).sum()
        assert (y[train] == label).sum() >= 1
        assert n_test == min(round(n * 0.2), n - 1)
        assert n_val == max(min(round(n * 0.1), n - n_test - 1), 0)


def test_split_deterministic_and_seed_dependent():
    y = np.repeat(np.arange(4), 25)
    first = stratified_split(y, (0.2, 0.2), seed=3)
    again = stratified_split(y, (0.2, 0.2), seed=3)
    other = stratified_split(y, (0.2, 0.2), seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[2], other[2])


def test_split_hand_worked():
    y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    train, test = stratified_split(y, (0.4,), seed=0)
    assert len(test) == 4 and (y[test] == 0).sum() == 2 and len(train) == 6


def test_subsample_keeps_proportions():
    y = np.repeat([0, 1, 2], [500, 300, 200])
    idx = stratified_subsample(y, 100, seed=0)
    assert np.bincount(y[idx]).tolist() == [50, 30, 20]
    assert len(np.unique(idx)) == 100
    assert len(stratified_subsample(y, 5000)) == 1000


def test_channel_stats_against_numpy_float64():
    x = np.random.default_rng(0).random((50, 3, 7, 5), dtype=np.float32) * [[[1]], [[2]], [[3]]]
    mean, std = channel_stats(x.astype(np.float32), chunk=7)  # chunked accumulation
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mean, x64.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(std, x64.std(axis=(0, 2, 3)), rtol=1e-5)
    assert mean.dtype == np.float32 and mean.shape == (3,)


def test_stats_from_train_split_only():
    ds = load_dataset("digits", val_fraction=0.1, test_fraction=0.3, seed=0)
    train_mean = ds.x_train.astype(np.float64).mean()
    all_x = np.concatenate([ds.x_train, ds.x_val, ds.x_test]).astype(np.float64)
    np.testing.assert_allclose(ds.mean, [train_mean], rtol=1e-6)
    np.testing.assert_allclose(ds.std, [ds.x_train.astype(np.float64).std()], rtol=1e-5)
    assert abs(all_x.mean() - train_mean) > 1e-6  # the other splits would change the mean
    limited = load_dataset("digits", limit=100, seed=0)
    np.testing.assert_allclose(limited.mean, [limited.x_train.astype(np.float64).mean()], rtol=1e-6)
    assert len(limited.y_train) == 100
    assert np.bincount(limited.y_train).min() >= 9  # stratified: about 10 per class


def test_digits_split_counts_and_determinism():
    a = load_dataset("digits", seed=5)
    b = load_dataset("digits", seed=5)
    assert np.array_equal(a.y_test, b.y_test) and np.array_equal(a.x_val, b.x_val)
    from sklearn.datasets import load_digits

    target = load_digits().target
    for split in ("train", "val", "test"):
        _, y = a.split(split)
        share = np.bincount(y, minlength=10) / np.bincount(target, minlength=10)
        expected = {"train": 0.7, "val": 0.1, "test": 0.2}[split]
        assert np.all(np.abs(share - expected) < 0.02)
    assert a.x_train.max() == 1.0 and a.x_train.min() == 0.0  # 16/16 and 0/16


def test_iter_batches_cover_each_index_once():
    batches = list(iter_batches(10, 3, shuffle=True, seed=1))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))
    assert [len(b) for b in iter_batches(10, 3, drop_last=True)] == [3, 3, 3]
    again = list(iter_batches(10, 3, shuffle=True, seed=1))
    assert all(np.array_equal(x, y) for x, y in zip(batches, again))
