"""Tests for shared.numeric."""

import numpy as np

from shared.numeric import softmax


def test_softmax_is_stable():
    probabilities = softmax(np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(probabilities, [[0.5, 0.5, 0.0]])


def test_softmax_of_one_row_sums_to_one():
    probabilities = softmax(np.array([2.0, 1.0, 0.1]))
    assert probabilities.shape == (3,) and np.isclose(probabilities.sum(), 1.0)
    assert list(np.argsort(-probabilities)) == [0, 1, 2]
