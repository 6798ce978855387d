"""Teach a classifier from a few examples per class, in seconds (Teachable Machine's loop).

Each example is turned into the frozen backbone's pooled features once, when it is added;
training fits only a new head on those cached features (the ``feature_extract`` recipe, in
memory), so retraining after more examples takes a second or two. ``keep`` saves the result
as an ordinary image_classify run: the examples as a class-per-folder dataset inside the run,
the model as a keras-hub preset, labels and held-out accuracy, so it is listed, reloaded by
``Predictor.load("run:<id>")`` and exported (and checked) like any fine-tuned run.
"""

import re
import time
from dataclasses import asdict

import numpy as np

from apps.image_classify.config import FinetuneConfig
from apps.image_classify.model import (
    build_transfer_classifier,
    image_size_of,
    save_classifier,
    transfer_parts,
)
from shared.devices import compile_step
from shared.images import resize_image
from shared.metrics import classification_report
from shared.numeric import softmax
from shared.runs import new_run
from shared.splits import split_indices

DEFAULT_MODEL = "bundled:efficientnet_lite0"
VALIDATION_SPLIT = 0.2
SEED = 42
EPOCHS = 60
LEARNING_RATE = 3e-3
CLASS_NAME = re.compile(r"^[\w][\w .-]{0,39}$")


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


class Teacher:
    """Examples in, a trained head out; ``predict`` on new images once trained.

    Args:
        ref: the starting classifier (its backbone is frozen; default EfficientNet-Lite0).
    """

    def __init__(self, ref=DEFAULT_MODEL, *, runs_dir=None):
        self.ref, self.runs_dir = ref, runs_dir
        self.task = build_transfer_classifier(ref, 2, runs_dir=runs_dir)  # its backbone
        self.image_size = image_size_of(self.task)
        self.converter = self.task.preprocessor.image_converter
        extractor = transfer_parts(self.task).feature_extractor
        self._features = compile_step(lambda batch: extractor(self.converter(batch)))
        self.examples = {}  # class name -> list of (image at the model's size, features)
        self.trained = None  # (task, class names, head) once trained
        self._features(np.zeros((1, *self.image_size, 3), "float32"))  # trace once

    def features(self, images):
        """Pooled backbone features of RGB uint8 images, (n, features) float32."""
        batch = np.stack([resize_image(np.asarray(image), self.image_size) for image in images])
        return np.asarray(self._features(batch.astype("float32")))

    def add(self, name, image):
        """Add one example of class ``name``; returns how many that class now has."""
        small = resize_image(np.asarray(image, "uint8"), self.image_size)
        self.examples.setdefault(name, []).append((small, self.features([small])[0]))
        return len(self.examples[name])

    def remove_class(self, name):
        self.examples.pop(name, None)

    def counts(self):
        return {name: len(items) for name, items in self.examples.items()}

    def _dataset(self, names):
        images, features, labels = [], [], []
        for label, name in enumerate(names):
            for image, vector in self.examples.get(name, []):
                images.append(image)
                features.append(vector)
                labels.append(label)
        return np.stack(images), np.stack(features), np.asarray(labels, "int32")

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
        _, features, labels = self._dataset(names)
        train_index, held_out = split_indices(labels, VALIDATION_SPLIT, SEED)
        keras.utils.set_random_seed(SEED)
        task = type(self.task)(
            backbone=self.task.backbone,
            preprocessor=self.task.preprocessor,
            num_classes=len(names),
            dropout=0.2,
        )
        head = transfer_parts(task).head
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
        self.trained = (task, names, head)
        return {
            "accuracy": float(report["accuracy"]),
            "held_out": int(len(held_out)),
            "examples": int(len(labels)),
            "train_seconds": round(time.perf_counter() - start, 2),
        }

    def predict(self, image):
        """``(class name, probability)`` of the trained head for one RGB image."""
        if self.trained is None:
            raise ValueError("train the classifier first")
        _, names, head = self.trained
        probabilities = softmax(np.asarray(head(self.features([image]), training=False)))[0]
        best = int(np.argmax(probabilities))
        return names[best], float(probabilities[best])

    def keep(self, metrics, *, name=None):
        """Save the trained classifier (``metrics``: what ``train`` returned) and its examples
        as a complete image_classify run; returns the run."""
        from PIL import Image

        if self.trained is None:
            raise ValueError("train the classifier first")
        task, names, _ = self.trained
        config = FinetuneConfig(
            model=self.ref,
            mode="feature_extract",
            epochs=EPOCHS,
            learning_rate=LEARNING_RATE,
            validation_split=VALIDATION_SPLIT,
            seed=SEED,
            augment=False,
            image_size=self.image_size[0],
            runs_dir=str(self.runs_dir) if self.runs_dir else None,
        )
        run = new_run("image_classify", {}, runs_dir=self.runs_dir, name=name or "taught")
        data_dir = run.artifact("data")
        for class_name in names:
            folder = data_dir / class_name
            folder.mkdir(parents=True, exist_ok=True)
            for index, (image, _) in enumerate(self.examples[class_name]):
                Image.fromarray(image).save(folder / f"{index:04d}.png")
        run.save_config(asdict(config) | {"data": str(data_dir)})
        save_classifier(task, run.artifact("model"))
        run.save_labels(names)
        run.save_metrics(metrics)
        run.set_status("complete", accuracy=metrics["accuracy"])
        return run
