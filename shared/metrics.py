"""Classification metrics shared by the apps (numpy only)."""

import numpy as np


def confusion_matrix(true, predicted, num_classes):
    """Counts ``[true, predicted]`` as an int64 (num_classes, num_classes) array."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true, np.int64), np.asarray(predicted, np.int64)), 1)
    return matrix


def classification_report(true, predicted, class_names):
    """Accuracy, per-class precision/recall/support and the confusion matrix.

    Returns:
        A JSON-ready dict: ``accuracy``, ``macro_precision``, ``macro_recall``,
        ``per_class`` {name: {precision, recall, support}}, ``confusion_matrix`` (lists).
    """
    matrix = confusion_matrix(true, predicted, len(class_names))
    true_positive = np.diag(matrix).astype(float)
    predicted_count = matrix.sum(axis=0)
    support = matrix.sum(axis=1)
    precision = np.divide(
        true_positive, predicted_count, where=predicted_count > 0, out=np.zeros_like(true_positive)
    )
    recall = np.divide(true_positive, support, where=support > 0, out=np.zeros_like(true_positive))
    total = matrix.sum()
    return {
        "accuracy": float(true_positive.sum() / total) if total else 0.0,
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "num_examples": int(total),
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "support": int(s)}
            for name, p, r, s in zip(class_names, precision, recall, support)
        },
        "confusion_matrix": matrix.tolist(),
    }
