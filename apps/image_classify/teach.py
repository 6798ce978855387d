"""Teach a classifier from a few examples per class, in seconds (Teachable Machine's loop).

Each example is turned into the frozen backbone's pooled features once, when it is added;
training fits only a new head on those cached features (the ``feature_extract`` recipe, in
memory), so retraining after more examples takes a second or two. ``keep`` saves the result
as an ordinary image_classify run: the examples as a class-per-folder dataset inside the run,
the model as a keras-hub preset, labels and held-out accuracy, so it is listed, reloaded by
``Predictor.load("run:<id>")`` and exported (and checked) like any fine-tuned run.
"""

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
from shared.runs import new_run
from shared.teach import (
    EPOCHS,
    LEARNING_RATE,
    SEED,
    VALIDATION_SPLIT,
    FewShotTeacher,
    check_class_names,
)

DEFAULT_MODEL = "bundled:efficientnet_lite0"
__all__ = ["DEFAULT_MODEL", "Teacher", "check_class_names"]


class Teacher(FewShotTeacher):
    """Images in, a trained head out (``shared.teach.FewShotTeacher``).

    Args:
        ref: the starting classifier (its backbone is frozen; default EfficientNet-Lite0).
    """

    def __init__(self, ref=DEFAULT_MODEL, *, runs_dir=None):
        super().__init__()
        self.ref, self.runs_dir = ref, runs_dir
        self.task = build_transfer_classifier(ref, 2, runs_dir=runs_dir)  # its backbone
        self.image_size = image_size_of(self.task)
        self.converter = self.task.preprocessor.image_converter
        extractor = transfer_parts(self.task).feature_extractor
        self._features = compile_step(lambda batch: extractor(self.converter(batch)))
        self._features(np.zeros((1, *self.image_size, 3), "float32"))  # trace once

    def features(self, images):
        """Pooled backbone features of RGB uint8 images, (n, features) float32."""
        batch = np.stack([resize_image(np.asarray(image), self.image_size) for image in images])
        return np.asarray(self._features(batch.astype("float32")))

    def add(self, name, image):
        """Add one example image of class ``name``; returns how many that class now has."""
        return self.add_example(name, resize_image(np.asarray(image, "uint8"), self.image_size))

    def new_head(self, num_classes):
        task = type(self.task)(
            backbone=self.task.backbone,
            preprocessor=self.task.preprocessor,
            num_classes=num_classes,
            dropout=0.2,
        )
        return task, transfer_parts(task).head

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
        data_dir = self.write_examples(
            run, lambda image, path: Image.fromarray(image).save(path.with_suffix(".png"))
        )
        run.save_config(asdict(config) | {"data": str(data_dir)})
        save_classifier(task, run.artifact("model"))
        run.save_labels(names)
        run.save_metrics(metrics)
        run.set_status("complete", accuracy=metrics["accuracy"])
        return run
