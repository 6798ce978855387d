"""Fine-tune the bundled YOLOv3-tiny (COCO) on a user's boxes (``--model
bundled:yolov3_tiny_coco``) through the shared training phase.

Images are letterboxed to ``image_size``² (RGB in [0, 1], gray borders, as the bundled
detector sees them) after the app's augmentation (flip, zoom, shift with the boxes). Modes:

- ``feature_extract``: the pretrained trunk and neck stay frozen; the new output convs train.
- ``fine_tune``: that warm-up for ``min(head_epochs, epochs - 1)`` epochs (the shared recipe's
  ``head_epochs``), then the top ``unfreeze_blocks`` darknet stages (convs between max pools;
  the top one is the last trunk conv and the neck) train too, at a tenth of the learning rate.
- ``scratch``: the same network from random weights, everything trains.

The run keeps the two-head detection model (``model/model.keras``) and ``detector.json``
(architecture, heads, input size, class names); ``apps.detection.model`` reloads it as a
``YoloDetector``.
"""

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from apps.detection import data as data_lib
from apps.detection.augment import augment
from apps.detection.centernet_fit import MapCallback, input_pipelines, split
from apps.detection.checks import load_checked
from apps.detection.fit_data import predict_each, sample_batches
from apps.detection.metrics import coco_map
from apps.detection.model import YoloDetector
from apps.detection.yolo import letterbox
from apps.detection.yolo_train import (
    MAX_BOXES,
    YoloLoss,
    anchor_table,
    build_model,
    encode_targets,
    is_yolo_ref,
    set_trainable,
    training_model,
)
from shared import batches as batches_lib
from shared.atomic_io import atomic_write_json
from shared.plots import save_history
from shared.training import train_phase

__all__ = ["Prepared", "is_yolo_ref", "prepare", "train"]
ARCHITECTURE = "yolov3_tiny"
SCORE_THRESHOLD = 0.25  # the fine-tuned detector's default, as the bundled one's


@dataclass
class Prepared:
    """Checked boxes and the network to fine-tune."""

    data: data_lib.DetectionData
    model: object  # the two-head detection model (trunk and neck pretrained unless scratch)
    heads: list  # per head: anchors (input pixels), classes, grid side
    outputs: list  # names of the new output convs
    ignore_threshold: float


def prepare(config):
    """Load the boxes (broken annotations: error or warning first) and build the network
    from the bundled COCO weights, before any run is created."""
    data = load_checked(config.data)
    model, heads, outputs, ignore = build_model(
        len(data.class_names), config.image_size, config.mode != "scratch"
    )
    return Prepared(data, model, heads, outputs, ignore)


def letterboxed(sample, size, augment_seed=None):
    """(letterboxed image in [0, 1], boxes in its pixels, labels) of one sample."""
    image, boxes, labels = data_lib.load_image(sample), sample.boxes, sample.labels
    if augment_seed is not None:
        image, boxes, labels = augment(image, boxes, labels, augment_seed)
    boxed, (scale_x, scale_y), (dx, dy) = letterbox(image, size)
    boxes = np.asarray(boxes, "float32").reshape(-1, 4) * np.array(
        [scale_x, scale_y, scale_x, scale_y], "float32"
    ) + np.array([dx, dy, dx, dy], "float32")
    return boxed, boxes, labels


def make_dataset(samples, heads, num_classes, config, *, train, stop=None):
    """Batches of (letterboxed image, ``encode_targets`` target), re-augmented each epoch
    (``fit_data.sample_batches``, as ``centernet_fit.make_dataset``)."""
    size = config.image_size
    rows = len(anchor_table(heads, size)) + MAX_BOXES

    def load(index, seed):
        image, boxes, labels = letterboxed(samples[index], size, seed)
        return image, encode_targets(boxes, labels, heads, size, num_classes)

    shapes = ((size, size, 3), (rows, 5 + num_classes))
    return sample_batches(len(samples), load, shapes, config, train=train, stop=stop)


def predict_samples(detector, samples, score_threshold=0.01, *, batch_size=1, flat=None):
    """Detections ``(boxes, scores, class indices)`` in each sample's pixels (class-wise NMS),
    on every process (``batch_size`` images per global batch under a data-parallel
    distribution).

    ``flat`` is the detector's ``training_model`` (its heads as one output, which
    ``shared.batches.predict_batches`` needs); made here when not given."""
    names = detector.class_names
    flat = flat if flat is not None else training_model(detector.model, len(names))
    size = detector.input_size

    def prepare(sample):
        image = data_lib.load_image(sample)
        boxed, scale, offset = letterbox(image, size)
        return boxed, [*image.shape[:2], *scale, *offset]

    results = []
    for rows, info in predict_each(flat, samples, prepare, batch_size):
        found = detector.detections(
            head_maps(rows, detector.model),
            (int(info[0]), int(info[1])),
            tuple(info[2:4]),
            tuple(info[4:6]),
            score_threshold=score_threshold,
        )
        boxes = np.array([item.box for item in found], "float32").reshape(-1, 4)
        scores = np.array([item.score for item in found], "float32")
        labels = np.array([names.index(item.label) for item in found], int)
        results.append((boxes, scores, labels))
    return results


def head_maps(rows, model):
    """``training_model`` rows of one image back to the head maps of ``model`` (the
    detection model), each ``(grid, grid, channels)``."""
    shapes = [tuple(int(side) for side in output.shape[1:]) for output in model.outputs]
    ends = np.cumsum([int(np.prod(shape)) for shape in shapes])
    parts = np.split(np.asarray(rows).reshape(-1), ends[:-1])
    return [part.reshape(shape) for part, shape in zip(parts, shapes)]


class YoloMapCallback(MapCallback):
    """``MapCallback`` for the YOLO fine-tune: scores the detection model's heads."""

    def __init__(self, samples, detector, every, batch_size=1, flat=None):
        super().__init__(
            samples, detector.class_names, detector.input_size, 1.0, 0.0, every, batch_size
        )
        self.detector, self.flat = detector, flat

    def predict(self):
        return predict_samples(
            self.detector, self.samples, batch_size=self.batch_size, flat=self.flat
        )


def phases(config, plan):
    """``[(phase, epochs, learning rate, darknet stages unfrozen)]`` of the mode."""
    if config.mode == "feature_extract":
        return [("detector", plan.epochs, plan.learning_rate, 0)]
    if config.mode == "scratch":
        return [("scratch", plan.epochs, plan.learning_rate, 0)]
    warm_up = min(plan.head_epochs, plan.epochs - 1) if plan.epochs > 1 else 1
    steps = [("head", warm_up, plan.learning_rate, 0)]
    if plan.epochs > warm_up:
        rest = plan.epochs - warm_up
        steps.append(("fine_tune", rest, plan.learning_rate / 10, config.unfreeze_blocks))
    return steps


def train(prepared, config, plan, run, *, callbacks=(), verbose=1):
    """Train per ``plan`` (see the module docstring); returns the run's metrics (COCO mAP)."""
    data, model = prepared.data, prepared.model
    names = data.class_names
    train_samples, val_samples = split(data, config)
    scored = val_samples or train_samples
    detector = YoloDetector(model, names, prepared.heads, config.image_size, SCORE_THRESHOLD)
    trainer = training_model(model, len(names))
    loss = YoloLoss(anchor_table(prepared.heads, config.image_size), prepared.ignore_threshold)
    histories = {}
    with input_pipelines() as stop:
        make = functools.partial(
            make_dataset, heads=prepared.heads, num_classes=len(names), config=config, stop=stop
        )
        train_set = make(train_samples, train=True)
        batches_lib.log_steps(train_set)
        val_set = make(val_samples, train=False) if val_samples else None
        mapper = YoloMapCallback(scored, detector, config.map_every, config.batch_size, trainer)
        for phase, epochs, learning_rate, unfrozen in phases(config, plan):
            set_trainable(model, prepared.outputs, config.mode, unfrozen)
            histories[phase] = train_phase(
                trainer,
                train_set,
                val_set,
                dataclasses.replace(plan, epochs=epochs),
                run,
                phase,
                learning_rate,
                compile_kwargs={"loss": loss, "metrics": []},
                callbacks=[mapper, *callbacks],
                verbose=verbose,
            )
            mapper.epochs_before += len(histories[phase].get("loss", []))
    predictions = predict_samples(detector, scored, batch_size=config.batch_size, flat=trainer)
    metrics = coco_map(scored, predictions, names)
    _save(run, model, prepared, config, histories)
    run.set_status("running", map50=metrics["map50"])
    return metrics | {
        "split": "validation" if val_samples else "train",
        "num_images": len(scored),
        "map_epochs": mapper.measured_epochs,
        "architecture": ARCHITECTURE,
    }


def _save(run, model, prepared, config, histories):
    model_dir = run.artifact("model")
    model_dir.mkdir(parents=True, exist_ok=True)
    model.save(model_dir / "model.keras")
    meta = {
        "class_names": prepared.data.class_names,
        "image_size": config.image_size,
        "architecture": ARCHITECTURE,
        "heads": [{"anchors": h["anchors"], "classes": h["classes"]} for h in prepared.heads],
        "score_threshold": SCORE_THRESHOLD,
        "letterbox": True,
    }
    atomic_write_json(model_dir / "detector.json", meta)
    run.save_labels(prepared.data.class_names)
    run.save_history(histories)
    save_history(histories, run.artifact("history.png"), metrics=("loss", "map50"))
