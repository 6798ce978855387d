"""The image classifier's ``Predictor``: ImageNet (or fine-tuned) classes for images, and
Grad-CAM heatmaps."""

import time
from dataclasses import dataclass

import numpy as np

from apps.image_classify.gradcam import gradcam_heatmap
from apps.image_classify.model import image_size_of, load_classifier
from shared.devices import compile_step
from shared.images import resize_image
from shared.numeric import softmax
from shared.results import Result


@dataclass
class Prediction:
    """One class of a classification: output index, label and probability."""

    index: int
    label: str
    score: float


@dataclass(kw_only=True)
class Classification(Result):
    """The top-k classes for one image, best first."""

    predictions: list[Prediction]


class Predictor:
    """Classify images with one loaded model; the CLI, the UI and the tests share it.

    Attributes:
        task: the keras-hub ``ImageClassifier`` (outputs logits; has a preprocessor).
        labels: class names, index-aligned with its outputs.
        ref: the model reference it was loaded from.
        image_size: (height, width) its preprocessor resizes to.
    """

    def __init__(self, task, labels, ref):
        self.task, self.labels, self.ref = task, labels, ref
        self.image_size = image_size_of(task)
        # Preprocessing and model in one compiled graph, without Keras' per-call data
        # handling (``predict_on_batch`` preprocesses eagerly). The warm-up's batch shape is
        # traced exactly; a second batch size generalises it, so varying sizes (the UI's
        # crops) stop retracing.
        self.forward = compile_step(self._forward, reduce_retracing=True)

    @classmethod
    def load(cls, ref=None, *, runs_dir=None, batch_size=1):
        """Load the model behind ``ref`` (default: ``bundled:efficientnet_lite0``).

        A warm-up call on ``batch_size`` images traces the inference graph for that batch
        shape, so reported latencies (and the first user's wait in the UI) are those of the
        model, not of graph building. Other batch sizes work too; each traces once.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
        predictor = cls(*load_classifier(ref, runs_dir=runs_dir))
        height, width = predictor.image_size
        predictor.logits([np.zeros((height, width, 3), "uint8")] * batch_size)
        return predictor

    def _forward(self, batch):
        preprocessor = getattr(self.task, "preprocessor", None)
        inputs = batch if preprocessor is None else preprocessor(batch)
        return self.task(inputs, training=False)

    def resize(self, images):
        """Resize RGB images to the model's input size and stack them into a float batch.

        Scaling is left to the model's preprocessor (applied in ``forward``), so the batch
        stays in [0, 255].
        """
        resized = [resize_image(np.asarray(image), self.image_size) for image in images]
        return np.stack(resized).astype("float32")

    def logits(self, images):
        """Raw model outputs for a batch of RGB uint8 images."""
        return np.asarray(self.forward(self.resize(images)))

    def predict(self, images, *, top_k=5, source=None):
        """Classify RGB images (each an (H, W, 3) uint8 array).

        Args:
            images: one image or a list of images.
            top_k: how many classes to return per image.
            source: a name (e.g. a file path) reported back with the result, or a list of
                names, one per image.

        Returns:
            A ``Classification`` for a single image, else a list of them.
        """
        single = isinstance(images, np.ndarray) and images.ndim == 3
        batch = [images] if single else list(images)
        if not batch:
            raise ValueError("predict() received no images")
        start = time.perf_counter()
        probabilities = softmax(self.logits(batch))
        latency_ms = (time.perf_counter() - start) * 1000 / len(batch)
        top_k = max(1, min(top_k, probabilities.shape[-1]))
        results = []
        sources = source if isinstance(source, (list, tuple)) else [source] * len(batch)
        for row, name in zip(probabilities, sources):
            order = np.argsort(-row)[:top_k]
            ranked = [Prediction(int(i), self.labels[i], float(row[i])) for i in order]
            results.append(
                Classification(
                    predictions=ranked, model=self.ref, latency_ms=latency_ms, source=name
                )
            )
        return results[0] if single else results

    def gradcam(self, image, class_index=None):
        """Grad-CAM heatmap of ``class_index`` (default: the top class) for one image.

        Returns:
            An (H, W) float32 array in [0, 1], the size of ``image``.
        """
        inputs = self.task.preprocessor(self.resize([image]))
        return gradcam_heatmap(self.task, inputs, image.shape[:2], class_index)
