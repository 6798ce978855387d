"""Predict ImageNet (or fine-tuned) classes for images; Grad-CAM heatmaps; the predict CLI."""

import sys
import time
from dataclasses import dataclass

import numpy as np

from apps.image_classify.config import PredictConfig
from apps.image_classify.gradcam import gradcam_heatmap
from apps.image_classify.model import image_size_of, load_classifier
from shared import predict_cli
from shared.cli import parse_command, report_error
from shared.devices import compile_step
from shared.images import IMAGE_EXTENSIONS, decode_image, resize_image
from shared.inputs import InputPaths
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


RANKED_FIELDS = ("index", "label", "score")


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


def describe(result):
    """The text lines of one result: source, model and latency, then a bar per class."""
    lines = [f"{result.source}  ({result.model}, {result.latency_ms:.0f} ms)"]
    for prediction in result.predictions:
        bar = "#" * int(round(prediction.score * 30))
        lines.append(f"  {prediction.score:6.1%}  {prediction.label:<28} {bar}".rstrip())
    return "\n".join(lines)


def csv_columns(top_k):
    """CSV header: the top class as ``index, label, score``, then ``label_2``... per rank."""
    ranked = [f"{name}_{rank}" for rank in range(2, top_k + 1) for name in RANKED_FIELDS]
    return ("source", *RANKED_FIELDS, *ranked, "model", "latency_ms", "error")


def csv_rows(result):
    """One flat row per image (see ``csv_columns``)."""
    row = {"source": result.source, "model": result.model, "latency_ms": result.latency_ms}
    for rank, prediction in enumerate(result.predictions, start=1):
        suffix = "" if rank == 1 else f"_{rank}"
        row |= {f"{name}{suffix}": getattr(prediction, name) for name in RANKED_FIELDS}
    return [row]


def _decoder(image_size):
    """Path -> RGB image at the model's size: resizing here keeps it out of the batch time."""
    return lambda path: resize_image(decode_image(path), image_size)


def main(argv=None):
    """``python -m apps.image_classify.predict IMAGE|FOLDER|GLOB|LIST.txt... --model REF
    [--json|--csv]``; the flags (or a ``--config`` file) are ``PredictConfig``'s."""
    config = parse_command(PredictConfig, argv, prog="python -m apps.image_classify.predict")
    try:
        inputs = InputPaths(config.inputs, IMAGE_EXTENSIONS)
        # A batch never bigger than the input count: 3 images are not padded to 16.
        batch_size = min(config.batch_size, len(inputs))
        predictor = Predictor.load(config.model, runs_dir=config.runs_dir, batch_size=batch_size)
    except (ValueError, OSError) as error:
        return report_error(error)
    mode = predict_cli.output_mode(config)
    return predict_inputs(predictor, inputs, top_k=config.top_k, batch_size=batch_size, mode=mode)


def predict_inputs(predictor, inputs, *, top_k=5, batch_size=16, mode="text"):
    """Classify every input path, streamed in batches of ``batch_size``, printing each result.

    Args:
        predictor: a loaded ``Predictor`` (best warmed up at ``batch_size``).
        inputs: input paths, e.g. ``shared.inputs.InputPaths``.
        top_k: classes per image (capped at the model's class count).
        batch_size: images per model call; the last batch is padded to it.
        mode: ``"text"``, ``"json"`` or ``"csv"``.

    Returns:
        The exit status: 0, or 1 when an input could not be read.
    """
    top_k = min(top_k, len(predictor.labels))
    return predict_cli.run(
        inputs,
        decode=_decoder(predictor.image_size),
        predict=lambda images, sources: predictor.predict(images, top_k=top_k, source=sources),
        output=predict_cli.Output(describe, csv_columns(top_k), csv_rows),
        mode=mode,
        batch_size=batch_size,
        unit="image",
    )


if __name__ == "__main__":
    sys.exit(main())
