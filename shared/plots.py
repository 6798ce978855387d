"""Figures saved with runs and benchmarks (matplotlib, no display needed); the pages' charts
are ``shared.ui.charts``."""

import numpy as np


def _figure(width, height):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, plt.figure(figsize=(width, height), dpi=100)


def save_confusion_matrix(matrix, class_names, path, title="Confusion matrix"):
    """Save a confusion matrix (rows: true class, columns: predicted) as a PNG."""
    matrix = np.asarray(matrix)
    size = max(4.0, 0.5 * len(class_names) + 2)
    plt, figure = _figure(size + 1, size)
    axes = figure.add_subplot(1, 1, 1)
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046)
    ticks = np.arange(len(class_names))
    axes.set_xticks(ticks, class_names, rotation=45, ha="right")
    axes.set_yticks(ticks, class_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    if len(class_names) <= 20:
        threshold = matrix.max() / 2 if matrix.size else 0
        for (row, column), value in np.ndenumerate(matrix):
            colour = "white" if value > threshold else "black"
            axes.text(column, row, str(value), ha="center", va="center", color=colour)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def save_history(histories, path, metrics=("loss", "accuracy")):
    """Plot training curves of every phase (``{phase: {metric: [values]}}``) as a PNG."""
    plt, figure = _figure(5 * len(metrics), 3.6)
    for index, metric in enumerate(metrics):
        axes = figure.add_subplot(1, len(metrics), index + 1)
        offset = 0
        for phase, history in histories.items():
            for key in (metric, f"val_{metric}"):
                values = history.get(key, [])
                epochs = np.arange(offset + 1, offset + len(values) + 1)
                style = "--" if key.startswith("val_") else "-"
                axes.plot(epochs, values, style, marker="o", label=f"{phase} {key}")
            offset += len(history.get(metric, []))
        axes.set_xlabel("epoch")
        axes.set_title(metric)
        axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
