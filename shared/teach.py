"""Teach a classifier from a few examples per class, in seconds (Teachable Machine's loop).

``FewShotTeacher`` keeps each example with its features, computed once by the frozen
backbone when the example is added; ``train`` fits only a new head on those cached features,
so retraining after more examples takes a second or two; ``predict`` runs the head on a new
example. An app gives the features (``features``), the model around a new head
(``new_head``) and how a trained teacher is kept as one of its runs (``keep``, helped by
``write_examples``): images in ``apps.image_classify.teach``, sounds in ``apps.speech.teach``.
"""

import re
import time

import numpy as np

from shared.metrics import classification_report
from shared.numeric import softmax
from shared.splits import split_indices

VALIDATION_SPLIT = 0.2
SEED = 42
EPOCHS = 60
LEARNING_RATE = 3e-3
CLASS_NAME = re.compile(r"^[\w][\w .-]{0,39}$")  # a safe folder name inside a run


def check_class_names(names):
    """The names, stripped; a clear error for fewer than two, duplicates or unsafe names."""
    names = [str(name).strip() for name in names]
    if len(names) < 2:
        raise ValueError("teach needs at least two classes")
    bad = [name for name in names if not CLASS_NAME.match(name)]
    if bad:
        raise ValueError(
            f"class names are 1-40 letters, digits, spaces, '.', '-' or '_'; received {bad}"
        )
    if len({name.lower() for name in names}) != len(names):
        raise ValueError(f"class names must differ: {names}")
    return names


class FewShotTeacher:
    """Examples in, a trained head out. Subclasses define ``features(items)`` (an
    ``(n, features)`` array), ``new_head(num_classes)`` (``(model, head)``: the model to keep
    and its new head, which takes the features) and ``keep``.

    ``trained`` is ``(model, class names, head)`` once trained, else None.
    """

    def __init__(self):
        self.examples = {}  # class name -> list of (example, its features)
        self.trained = None

    def add_example(self, name, item):
        """Add one example of class ``name``; returns how many that class now has."""
        self.examples.setdefault(name, []).append((item, self.features([item])[0]))
        return len(self.examples[name])

    def remove_class(self, name):
        self.examples.pop(name, None)

    def counts(self):
        return {name: len(items) for name, items in self.examples.items()}

    def train(self, names, *, epochs=EPOCHS):
        """Fit a new head for ``names`` on the cached features; returns its metrics.

        A stratified ``VALIDATION_SPLIT`` of each class (when it has two examples or more) is
        held out and scores the head, which is trained on the rest.
        """
        import keras

        names = sorted(check_class_names(names))  # the order a class-per-folder run reloads
        empty = [name for name in names if not self.examples.get(name)]
        if empty:
            raise ValueError(f"add at least one example of {', '.join(empty)}")
        start = time.perf_counter()
        rows = [
            (vector, label) for label, name in enumerate(names) for _, vector in self.examples[name]
        ]
        features = np.stack([vector for vector, _ in rows])
        labels = np.asarray([label for _, label in rows], "int32")
        train_index, held_out = split_indices(labels, VALIDATION_SPLIT, SEED)
        keras.utils.set_random_seed(SEED)
        model, head = self.new_head(len(names))
        head.compile(
            optimizer=keras.optimizers.Adam(LEARNING_RATE),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        head.fit(
            features[train_index],
            labels[train_index],
            epochs=epochs,
            batch_size=32,
            shuffle=True,
            verbose=0,
        )
        scored = held_out if len(held_out) else train_index
        predicted = np.argmax(head.predict(features[scored], verbose=0), axis=-1)
        report = classification_report(labels[scored], predicted, names)
        self.trained = (model, names, head)
        return {
            "accuracy": float(report["accuracy"]),
            "held_out": int(len(held_out)),
            "examples": int(len(labels)),
            "train_seconds": round(time.perf_counter() - start, 2),
        }

    def predict(self, item):
        """``(class name, probability)`` of the trained head for one example."""
        if self.trained is None:
            raise ValueError("train the classifier first")
        _, names, head = self.trained
        logits = np.asarray(head(self.features([item]), training=False), "float64")
        probabilities = softmax(logits)[0]
        best = int(np.argmax(probabilities))
        return names[best], float(probabilities[best])

    def write_examples(self, run, write):
        """The trained classes' examples as a class-per-folder dataset in ``run``'s ``data``
        folder (``write(example, path without suffix)`` writes one); returns the folder."""
        if self.trained is None:
            raise ValueError("train the classifier first")
        data_dir = run.artifact("data")
        for class_name in self.trained[1]:
            folder = data_dir / class_name
            folder.mkdir(parents=True, exist_ok=True)
            for index, (item, _) in enumerate(self.examples[class_name]):
                write(item, folder / f"{index:04d}")
        return data_dir
