"""Export a fine-tuned detector run (CenterNet or YOLO) for serving, and check every export.

Formats: those of ``shared.export.FORMATS`` (a SavedModel, TFLite in float32, float16 and
int8, ONNX). The exported model takes images in [0, 255] (float, the model's input size:
resized for CenterNet, letterboxed for YOLO) and returns the raw outputs, one array per
image: CenterNet's ``(H/8, W/8, classes + 4)`` maps (decode them with
``apps.detection.centernet.decode``), or YOLO's two heads flattened and concatenated
(``split_heads`` gives them back for ``apps.detection.yolo.decode``). int8 is calibrated on
up to ``REPRESENTATIVE_IMAGES`` of the run's training images. Each export is run on the
images its training held out, decoded, and scored by COCO mAP50 against their boxes
(``shared.export_metrics.Score``): one that loses more than 2 points is refused.
"""

import dataclasses
from types import SimpleNamespace

import keras
import numpy as np

from apps.detection import data as data_lib
from apps.detection.centernet import decode
from apps.detection.centernet_fit import split
from apps.detection.checks import load_checked
from apps.detection.config import FinetuneConfig
from apps.detection.metrics import coco_map
from apps.detection.model import YoloDetector, _load_centernet, nms
from apps.detection.yolo import decode as decode_yolo
from apps.detection.yolo_fit import letterboxed
from shared.export import FORMATS, checked_exporter, export_checked
from shared.export_metrics import Score
from shared.images import resize_image

REPRESENTATIVE_IMAGES = 200
SCORE_THRESHOLD = 0.01  # as the training's mAP: every candidate counts
IOU_THRESHOLD = 0.5  # YOLO's class-wise NMS, as the detector's default


def serving_centernet(model, image_size, scale, offset):
    """Images in [0, 255] → CenterNet's raw ``(H/8, W/8, classes + 4)`` maps."""
    images = keras.Input((image_size, image_size, 3), name="images")
    scaled = keras.layers.Rescaling(scale, offset, name="scale")(images)
    return keras.Model(images, model(scaled, training=False), name="serving_centernet")


def serving_yolo(model, image_size):
    """Letterboxed images in [0, 255] → YOLO's heads, each flattened, concatenated in one
    ``(batch, total)`` array (``split_heads`` undoes it)."""
    images = keras.Input((image_size, image_size, 3), name="images")
    heads = model(keras.layers.Rescaling(1 / 255, name="scale")(images), training=False)
    flat = [keras.layers.Flatten(name=f"flatten_{i}")(head) for i, head in enumerate(heads)]
    outputs = keras.layers.Concatenate(name="heads")(flat)
    return keras.Model(images, outputs, name="serving_yolo")


def head_shapes(model):
    """The per-image shapes of a YOLO model's heads."""
    return [tuple(int(side) for side in output.shape[1:]) for output in model.outputs]


def split_heads(flat, shapes):
    """``(batch, total)`` concatenated heads → one ``(batch, *shape)`` array per head."""
    flat = np.asarray(flat)
    ends = np.cumsum([int(np.prod(shape)) for shape in shapes])
    if flat.shape[-1] != ends[-1]:
        raise ValueError(f"{flat.shape[-1]} outputs per image, the heads have {ends[-1]}")
    parts = np.split(flat, ends[:-1], axis=-1)
    return [part.reshape(len(flat), *shape) for part, shape in zip(parts, shapes)]


def centernet_predictions(outputs, num_classes):
    """Detections ``(boxes, scores, labels)`` per image, in input pixels."""
    return [decode(maps, num_classes, score_threshold=SCORE_THRESHOLD) for maps in outputs]


def yolo_predictions(outputs, shapes, heads, image_size):
    """Detections per image of the concatenated heads, in input pixels (class-wise NMS)."""
    results = []
    per_head = split_heads(outputs, shapes)
    for index in range(len(outputs)):
        maps = [head[index] for head in per_head]
        boxes, scores, labels = decode_yolo(maps, heads, image_size, SCORE_THRESHOLD)
        boxes = np.clip(boxes, 0, image_size)
        keep = []
        for label in np.unique(labels):
            chosen = np.flatnonzero(labels == label)
            keep += list(chosen[nms(boxes[chosen], scores[chosen], IOU_THRESHOLD)])
        keep = np.asarray(sorted(keep, key=lambda i: -scores[i]), int)
        results.append((boxes[keep], scores[keep], labels[keep]))
    return results


def held_out(samples, detector):
    """``(images in [0, 255] at the input size, [(boxes in its pixels, labels)])``: uint8
    resized images for CenterNet, float32 letterboxed ones for YOLO (gray borders of 127.5)."""
    images, truth = [], []
    for sample in samples:
        if isinstance(detector, YoloDetector):
            image, boxes, labels = letterboxed(sample, detector.input_size)
            image = image * 255.0
        else:
            size, original = detector.image_size, data_lib.load_image(sample)
            height, width = original.shape[:2]
            image = resize_image(original, (size, size))
            boxes = sample.boxes * np.array([size / width, size / height] * 2, "float32")
            labels = sample.labels
        images.append(image)
        truth.append((np.asarray(boxes, "float32").reshape(-1, 4), labels))
    return np.stack(images), truth


def serving_and_metric(detector, truth):
    """The serving model and its ``Score("mAP50", ...)`` on the held-out boxes ``truth``."""
    names = detector.class_names

    if isinstance(detector, YoloDetector):
        size, shapes = detector.input_size, head_shapes(detector.model)
        serving = serving_yolo(detector.model, size)

        def predictions(outputs):
            return yolo_predictions(outputs, shapes, detector.heads, size)
    else:
        size = detector.image_size
        serving = serving_centernet(detector.model, size, detector.scale, detector.offset)

        def predictions(outputs):
            return centernet_predictions(outputs, len(names))

    def map50(outputs):
        return coco_map(truth, predictions(outputs), names)["map50"]

    return serving, Score("mAP50", map50)


def run_config(run):
    """The run's ``FinetuneConfig`` (its split settings are what ``centernet_fit.split`` needs)."""
    names = {field.name for field in dataclasses.fields(FinetuneConfig)}
    stored = {key: value for key, value in run.config.items() if key in names}
    return FinetuneConfig(**stored | {"export": tuple(stored.get("export", ()))})


def load_run_detector(run):
    """The run's saved detector (``CenterNetDetector`` or ``YoloDetector``), read from its
    ``model/`` folder: complete, or training's end writing its exports."""
    return _load_centernet(SimpleNamespace(location=run.artifact("model"), ref=run.ref, run=run))


def export_run(run, formats=tuple(FORMATS), *, data=None, batch_size=8):
    """Export a detector run to ``formats`` (all by default), check each; the report.

    Args:
        run: the run (its ``model/``, and ``export/`` receives the exports).
        formats: keys of ``shared.export.FORMATS``; "saved_model" is always written.
        data: the run's ``DetectionData`` when at hand (else read again from its ``data``).
        batch_size: images per call when scoring.

    The held-out images are the ones its training scored (its validation split, or its
    training images when it had none), prepared as it prepared them.
    """
    config = run_config(run)
    detector = load_run_detector(run)
    data = load_checked(config.data) if data is None else data
    train_samples, val_samples = split(data, config)
    examples, truth = held_out(val_samples or train_samples, detector)
    chosen = np.random.default_rng(config.seed).permutation(len(train_samples))
    representative, _ = held_out(
        [train_samples[i] for i in sorted(chosen[:REPRESENTATIVE_IMAGES])], detector
    )
    serving, metric = serving_and_metric(detector, truth)
    serving.predict(examples[:1].astype("float32"), verbose=0)  # ONNX export needs it called
    return export_checked(
        serving,
        run,
        formats,
        representative=representative,
        examples=examples,
        metric=metric,
        batch_size=batch_size,
    )


EXPORTERS = (checked_exporter(export_run),)
