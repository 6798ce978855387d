"""Small numpy functions the apps share."""

import numpy as np


def softmax(logits):
    """Probabilities from logits over the last axis (numpy), stable for large logits."""
    logits = np.asarray(logits)
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)
