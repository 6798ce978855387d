"""The CenterNet detector on an image backbone: its data pipeline, training through the
shared phase, held-out mAP per epoch and saving; the pieces YOLO fine-tunes share
(``split``, ``input_pipelines``, ``MapCallback``; the batches in ``fit_data``)."""

import contextlib
import functools
import gc
import threading
from dataclasses import dataclass

import keras
import numpy as np

from apps.detection import data as data_lib
from apps.detection.augment import augment
from apps.detection.centernet import CenterNetLoss, build_centernet, decode, encode_targets
from apps.detection.checks import load_checked
from apps.detection.fit_data import predict_each, sample_batches
from apps.detection.metrics import coco_map
from shared import batches as batches_lib
from shared.atomic_io import atomic_write_json
from shared.image_backbones import IMAGE_BACKBONES
from shared.images import resize_image
from shared.models import resolve_model_ref
from shared.plots import save_history
from shared.training import train_phase
from shared.unfreeze import unfreeze_top_blocks


def prepare_image(image, size, scale=1 / 127.5, offset=-1.0):
    """Resize an RGB uint8 image to ``size``² and scale it as the backbone expects."""
    return resize_image(np.asarray(image), (size, size)).astype("float32") * scale + offset


def load_backbone(ref, pretrained=True):
    """A keras-hub backbone and its input scaling from an image-backbone reference."""
    import keras_hub

    resolved = resolve_model_ref(ref, IMAGE_BACKBONES)
    backbone = keras_hub.models.Backbone.from_preset(resolved.location, load_weights=pretrained)
    if not hasattr(backbone, "pyramid_outputs") or "P5" not in backbone.pyramid_outputs:
        raise ValueError(f"{ref}: the detector needs a backbone with P3-P5 feature maps")
    converter = keras_hub.layers.ImageConverter.from_preset(resolved.location)
    return backbone, float(np.ravel(converter.scale)[0]), float(np.ravel(converter.offset)[0])


def sample_arrays(sample, size, scale, offset, augment_seed=None):
    """(input image, target) of one sample, optionally augmented with its boxes."""
    image, boxes, labels = data_lib.load_image(sample), sample.boxes, sample.labels
    if augment_seed is not None:
        image, boxes, labels = augment(image, boxes, labels, augment_seed)
    height, width = image.shape[:2]
    boxes = np.asarray(boxes, "float32").reshape(-1, 4) * np.array(
        [size / width, size / height, size / width, size / height], "float32"
    )
    return prepare_image(image, size, scale, offset), boxes, labels


@contextlib.contextmanager
def input_pipelines():
    """Yield a stop flag for ``make_dataset``; on an error or Ctrl-C, tear its pipelines down.

    An exception out of ``fit`` keeps Keras' epoch iterators alive (through the frames of
    its traceback and reference cycles) until the interpreter exits, when a loader still
    running can no longer take the GIL and destroying its iterator waits for it forever.
    So the flag makes loading fail at once, the finished frames drop their local variables
    (the traceback keeps its lines) and the iterators are collected now, while Python runs.
    """
    stop = threading.Event()
    try:
        yield stop
    except BaseException as error:
        stop.set()
        _clear_finished_frames(error.__traceback__)
        gc.collect()
        raise
    finally:
        stop.set()


def _clear_finished_frames(traceback):
    """Drop the local variables of the finished frames an exception went through and of
    their callers (Keras' ``fit`` holds its epoch iterators): a traceback Keras filtered
    skips ``fit``, only the callers of the frames it kept lead there."""
    while traceback is not None:
        frame, traceback = traceback.tb_frame, traceback.tb_next
        while frame is not None:
            caller = frame.f_back
            try:
                frame.clear()
            except RuntimeError:  # still running: it and its callers keep their locals
                break
            frame = caller


def make_dataset(samples, num_classes, config, scale, offset, *, train, stop=None):
    """Batches of (image, target) (``fit_data.sample_batches``: ``tf.data`` on TensorFlow,
    ``shared.batches`` elsewhere); training batches are re-augmented each epoch.

    On TensorFlow, sample indices mapped through ``tf.numpy_function``, not
    ``from_generator``: an idle iterator of it is destroyed without running Python (a
    generator's runs its clean-up). Once ``stop`` (an ``input_pipelines()`` flag) is set,
    loading fails at once.
    """
    size, grid = config.image_size, config.image_size // 8

    def load(index, seed):
        image, boxes, labels = sample_arrays(samples[index], size, scale, offset, seed)
        return image, encode_targets(boxes, labels, size, num_classes)

    shapes = ((size, size, 3), (grid, grid, num_classes + 5))
    return sample_batches(len(samples), load, shapes, config, train=train, stop=stop)


def predict_samples(
    model, samples, num_classes, size, scale, offset, score_threshold=0.01, batch_size=1
):
    """Detections ``(boxes, scores, labels)`` in each sample's own pixels, on every process
    (``batch_size`` images per global batch under a data-parallel distribution)."""

    def prepare(sample):
        image = data_lib.load_image(sample)
        return prepare_image(image, size, scale, offset), image.shape[:2]

    results = []
    for outputs, (height, width) in predict_each(model, samples, prepare, batch_size):
        boxes, scores, labels = decode(outputs, num_classes, score_threshold=score_threshold)
        results.append((boxes * np.array([width, height, width, height]) / size, scores, labels))
    return results


def make_model(backbone, num_classes, mode, unfreeze_blocks):
    """The CenterNet on ``backbone`` with the mode's trainable layers."""
    if mode == "feature_extract":
        backbone.trainable = False
    elif mode == "fine_tune":
        unfreeze_top_blocks(backbone, unfreeze_blocks)
    else:  # scratch: everything trains, BatchNorm included
        backbone.trainable = True
    model, _ = build_centernet(backbone, num_classes)
    return model, {"loss": CenterNetLoss(num_classes), "metrics": []}


class MapCallback(keras.callbacks.Callback):
    """Adds ``val_map`` / ``val_map50`` (pycocotools) to the logs every ``every`` epochs and
    at the last one, so the learning curve is in mAP, not only in loss. Under a
    data-parallel distribution every process scores every sample (``batch_size`` images per
    global batch), so all of them log the same mAP."""

    def __init__(self, samples, class_names, size, scale, offset, every, batch_size=1):
        super().__init__()
        self.samples, self.class_names = samples, class_names
        self.arguments, self.every = (size, scale, offset), every
        self.batch_size = batch_size

        self.latest = {}
        self.measured_epochs = []  # counted over the whole run
        self.epochs_before = 0  # epochs trained in earlier phases (YOLO's warm-up)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        last = epoch + 1 == self.params.get("epochs")
        if epoch == 0 or (epoch + 1) % self.every == 0 or last:
            scores = coco_map(self.samples, self.predict(), self.class_names)
            self.latest = {"val_map": scores["map"], "val_map50": scores["map50"]}
            self.measured_epochs.append(self.epochs_before + epoch + 1)
        logs.update(self.latest)  # between measurements the last value carries on

    def predict(self):
        """Detections of the scored samples (``predict_samples``' format)."""
        names = self.class_names
        return predict_samples(
            self.model, self.samples, len(names), *self.arguments, batch_size=self.batch_size
        )


@dataclass
class Prepared:
    """Checked inputs of a fine-tune."""

    data: data_lib.DetectionData
    backbone: object  # the keras-hub backbone with P3-P5 feature maps
    scale: float  # input scaling the backbone expects: pixels * scale + offset
    offset: float


def prepare(config):
    """Load the boxes (broken annotations: error or warning first) and the backbone, before
    any run is created."""
    data = load_checked(config.data)
    backbone, scale, offset = load_backbone(config.model, config.mode != "scratch")
    return Prepared(data, backbone, scale, offset)


def train(prepared, config, plan, run, callbacks, verbose):
    """Train the CenterNet per ``plan`` and save it; returns the run's metrics (COCO mAP)."""
    data, scale, offset = prepared.data, prepared.scale, prepared.offset
    train_samples, val_samples = split(data, config)
    scored = val_samples or train_samples
    num_classes = len(data.class_names)
    with input_pipelines() as stop:
        model, compile_kwargs = make_model(
            prepared.backbone, num_classes, config.mode, config.unfreeze_blocks
        )
        make = functools.partial(
            make_dataset,
            num_classes=num_classes,
            config=config,
            scale=scale,
            offset=offset,
            stop=stop,
        )
        mapper = MapCallback(
            scored,
            data.class_names,
            config.image_size,
            scale,
            offset,
            config.map_every,
            config.batch_size,
        )
        train_set = make(train_samples, train=True)
        batches_lib.log_steps(train_set)
        history = train_phase(
            model,
            train_set,
            make(val_samples, train=False) if val_samples else None,
            plan,
            run,
            "detector",
            config.learning_rate,
            compile_kwargs=compile_kwargs,
            callbacks=[mapper, *callbacks],
            verbose=verbose,
        )
    predictions = predict_samples(
        model, scored, num_classes, config.image_size, scale, offset, batch_size=config.batch_size
    )
    metrics = coco_map(scored, predictions, data.class_names)
    _save(run, model, data, config, scale, offset, history)
    run.set_status("running", map50=metrics["map50"])
    return metrics | {
        "split": "validation" if val_samples else "train",
        "num_images": len(scored),
        "map_epochs": mapper.measured_epochs,
    }


def split(data, config):
    """(train, held-out) samples: a shuffled ``validation_split`` fraction held out."""
    order = np.random.default_rng(config.seed).permutation(len(data.samples))
    held_out = int(round(config.validation_split * len(order)))
    if config.validation_split > 0 and len(order) > 1:
        held_out = min(max(held_out, 1), len(order) - 1)
    train_samples = [data.samples[i] for i in order[held_out:]]
    val_samples = [data.samples[i] for i in order[:held_out]]
    return train_samples, val_samples


def _save(run, model, data, config, scale, offset, history):
    model_dir = run.artifact("model")
    model_dir.mkdir(parents=True, exist_ok=True)
    model.save(model_dir / "model.keras")
    meta = {
        "class_names": data.class_names,
        "image_size": config.image_size,
        "scale": scale,
        "offset": offset,
        "architecture": "centernet",
    }
    atomic_write_json(model_dir / "detector.json", meta)
    run.save_labels(data.class_names)
    run.save_history({"detector": history})
    save_history({"detector": history}, run.artifact("history.png"), metrics=("loss", "map50"))
