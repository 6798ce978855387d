"""The toy app's training: a one-weight Keras model fitted to the word lengths."""

from pathlib import Path

import numpy as np


def prepare(config):
    """The words of the ``.txt`` files in ``config.data``."""
    words = [path.read_text().strip() for path in sorted(Path(config.data).glob("*.txt"))]
    if not words:
        raise ValueError(f"{config.data}: no .txt files")
    return words


def train(prepared, config, plan, run, *, callbacks=(), verbose=1):
    """Fit the lengths for ``config.epochs`` epochs; write the reversed words into the run."""
    import keras

    lengths = np.array([[len(word)] for word in prepared], "float32")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(lengths, lengths, epochs=config.epochs, verbose=verbose, callbacks=list(callbacks))
    model.save(run.path / "model.keras")
    run.artifact("reversed.txt").write_text("\n".join(word[::-1] for word in prepared))
    return {"reversals": len(prepared)}
