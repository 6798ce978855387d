"""Seeded train / held-out splits: stratified by label, or over a number of examples."""

import numpy as np
import pytest

from shared.splits import split_indices


def test_a_stratified_split_keeps_every_class_on_both_sides_and_is_deterministic():
    labels = np.array([0] * 10 + [1] * 5 + [2] * 2)
    train, held_out = split_indices(labels, 0.2, seed=3)
    assert sorted(np.concatenate([train, held_out]).tolist()) == list(range(17))
    assert np.bincount(labels[held_out]).tolist() == [2, 1, 1]
    assert np.bincount(labels[train]).tolist() == [8, 4, 1]
    again = split_indices(labels, 0.2, seed=3)
    np.testing.assert_array_equal(train, again[0])
    np.testing.assert_array_equal(held_out, again[1])
    others = [split_indices(labels, 0.2, seed=seed)[1] for seed in range(4, 10)]
    assert any(not np.array_equal(held_out, other) for other in others)


def test_a_count_is_one_class():
    train, held_out = split_indices(10, 0.3, seed=7)
    same = split_indices(np.zeros(10), 0.3, seed=7)
    assert train.tolist() == same[0].tolist() and held_out.tolist() == same[1].tolist()
    assert len(held_out) == 3 and sorted([*train, *held_out]) == list(range(10))
    assert list(train) == sorted(train) and list(held_out) == sorted(held_out)


@pytest.mark.parametrize(
    ("count", "fraction", "sizes"),
    [(2, 0.1, (1, 1)), (5, 0.99, (1, 4)), (1, 0.5, (1, 0)), (0, 0.5, (0, 0)), (4, 0.0, (4, 0))],
)
def test_at_least_one_on_each_side_when_asked_and_possible(count, fraction, sizes):
    train, held_out = split_indices(count, fraction, seed=0)
    assert (len(train), len(held_out)) == sizes


def test_max_held_out_caps_each_class():
    train, held_out = split_indices(100, 0.5, seed=0, max_held_out=7)
    assert (len(train), len(held_out)) == (93, 7)
    labels = np.array([0] * 20 + [1] * 20)
    _, held_out = split_indices(labels, 0.5, seed=0, max_held_out=3)
    assert np.bincount(labels[held_out]).tolist() == [3, 3]
