"""Predict ImageNet (or fine-tuned) classes for images; Grad-CAM heatmaps; the predict CLI."""

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from apps.image_classify.data import resize_image
from apps.image_classify.model import load_classifier
from shared.cli import report_error
from shared.images import decode_image


@dataclass
class Prediction:
    """One class of a classification: output index, label and probability."""

    index: int
    label: str
    score: float


@dataclass
class Classification:
    """The top-k classes for one image."""

    predictions: list
    model: str
    latency_ms: float
    source: str | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self):
        """JSON-ready dict (the CLI's ``--json`` line)."""
        return asdict(self)


def softmax(logits):
    """Numerically stable softmax over the last axis (numpy)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


class Predictor:
    """Classify images with one loaded model; the CLI, the UI and the tests share it."""

    def __init__(self, loaded):
        self.loaded = loaded
        self.model = loaded.model
        self.labels = loaded.labels

    @classmethod
    def load(cls, ref=None, *, runs_dir=None):
        """Load the model behind ``ref`` (default: ``bundled:efficientnet_lite0``).

        One warm-up call traces the inference function, so reported latencies (and the
        first user's wait in the UI) are those of the model, not of graph building.
        """
        predictor = cls(load_classifier(ref, runs_dir=runs_dir))
        height, width = predictor.loaded.image_size
        predictor.logits([np.zeros((height, width, 3), "uint8")])
        return predictor

    def resize(self, images):
        """Resize RGB images to the model's input size and stack them into a float batch.

        Scaling is left to the model: keras-hub tasks apply their preprocessor in
        ``predict_on_batch``, so the batch stays in [0, 255].
        """
        size = self.loaded.image_size
        resized = [resize_image(np.asarray(image), size) for image in images]
        return np.stack(resized).astype("float32")

    def logits(self, images):
        """Raw model outputs for a batch of RGB uint8 images."""
        return np.asarray(self.model.predict_on_batch(self.resize(images)))

    def predict(self, images, *, top_k=5, sources=None):
        """Classify RGB images (each an (H, W, 3) uint8 array).

        Args:
            images: one image or a list of images.
            top_k: how many classes to return per image.
            sources: optional names (e.g. file paths) reported back with each result.

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
        for row, source in zip(probabilities, sources or [None] * len(batch)):
            order = np.argsort(-row)[:top_k]
            preds = [Prediction(int(i), self.labels[i], float(row[i])) for i in order]
            results.append(Classification(preds, self.loaded.ref, latency_ms, source))
        return results[0] if single else results

    def gradcam(self, image, class_index=None):
        """Grad-CAM heatmap of ``class_index`` (default: the top class) for one image.

        Returns:
            An (H, W) float32 array in [0, 1], the size of ``image``.
        """
        from apps.image_classify.gradcam import gradcam_heatmap

        inputs = self.model.preprocessor(self.resize([image]))
        return gradcam_heatmap(self.model, inputs, image.shape[:2], class_index)


def _print_table(result):
    print(f"{result.source}  ({result.model}, {result.latency_ms:.0f} ms)")
    for prediction in result.predictions:
        bar = "#" * int(round(prediction.score * 30))
        print(f"  {prediction.score:6.1%}  {prediction.label:<28} {bar}".rstrip())


def main(argv=None):
    """``python -m apps.image_classify.predict IMAGE... --model REF [--json]``."""
    parser = argparse.ArgumentParser(prog="python -m apps.image_classify.predict")
    parser.add_argument("inputs", nargs="+", metavar="IMAGE", help="image files to classify")
    parser.add_argument("--model", default=None, help="model reference (bundled:, preset, run:)")
    parser.add_argument("--top-k", type=int, default=5, help="classes per image (default: 5)")
    parser.add_argument("--batch-size", type=int, default=16, help="images per batch")
    parser.add_argument("--json", action="store_true", help="one JSON object per input")
    parser.add_argument("--runs-dir", default=None, help="runs registry root")
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.top_k < 1:
        parser.error("--batch-size and --top-k must be at least 1")
    try:
        images = [decode_image(path) for path in args.inputs]
        predictor = Predictor.load(args.model, runs_dir=args.runs_dir)
    except (ValueError, OSError) as error:
        return report_error(error)
    for start in range(0, len(images), args.batch_size):
        chunk = slice(start, start + args.batch_size)
        for result in predictor.predict(
            images[chunk], top_k=args.top_k, sources=args.inputs[chunk]
        ):
            print(json.dumps(result.to_dict())) if args.json else _print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
