"""Seeded train / held-out splits of a dataset's examples, by class or over all of them."""

import numpy as np


def split_indices(labels, fraction, seed, *, max_held_out=None):
    """Sorted index arrays ``(train, held_out)``: ``fraction`` of each class held out at random.

    Args:
        labels: one class label per example (a stratified split), or the number of examples
            (one class: a plain shuffled split).
        fraction: the share of each class held out, rounded. When above 0, a class of two or
            more examples keeps at least one example on each side.
        seed: the same seed (and labels) gives the same split.
        max_held_out: at most this many examples of each class held out (None: no limit).

    Returns:
        Two sorted int arrays of indices into the examples.
    """
    labels = np.zeros(labels, int) if np.ndim(labels) == 0 else np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, held_out = [], []
    for label in np.unique(labels):
        indices = rng.permutation(np.flatnonzero(labels == label))
        count = int(round(fraction * len(indices)))
        if fraction > 0 and len(indices) > 1:
            count = min(max(count, 1), len(indices) - 1)
        if max_held_out is not None:
            count = min(count, max_held_out)
        held_out += list(indices[:count])
        train += list(indices[count:])
    return np.sort(np.asarray(train, int)), np.sort(np.asarray(held_out, int))
