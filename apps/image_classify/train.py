"""Fine-tune an image classifier on a folder or ``tfds:`` dataset through the shared recipe.

A stratified held-out split scores the run (accuracy, per-class report, confusion matrix);
the run keeps the model as a keras-hub preset, its labels, curves and, on request, exports
(SavedModel, TFLite float32 / float16 / int8, ONNX) each checked on the held-out split.
"""

from dataclasses import dataclass

import keras
import numpy as np

from apps.image_classify import data as data_lib
from apps.image_classify.export import export_run, print_report
from apps.image_classify.model import (
    base_image_size,
    build_transfer_classifier,
    save_classifier,
    transfer_parts,
)
from shared import batches as batches_lib
from shared.metrics import classification_report
from shared.plots import save_confusion_matrix, save_history
from shared.row_store import take_rows
from shared.splits import split_indices
from shared.training import finetune


@dataclass
class Prepared:
    """Checked inputs of a fine-tune."""

    data: data_lib.ImageData
    task: object  # the keras-hub ImageClassifier to train, with its new head


def prepare(config):
    """Load the images and build the classifier (errors before any run is created)."""
    image_size = config.image_size or base_image_size(config.model, runs_dir=config.runs_dir)
    data = data_lib.load_source(config.data, image_size, config.max_images_per_class)
    task = build_transfer_classifier(
        config.model,
        len(data.class_names),
        pretrained=config.mode != "scratch",
        dropout=config.dropout,
        runs_dir=config.runs_dir,
    )
    if config.image_size:
        task.preprocessor.image_converter.image_size = (config.image_size, config.image_size)
    return Prepared(data, task)


def train(prepared, config, plan, run, *, callbacks=(), verbose=1):
    """Fine-tune per ``plan``; returns the run's metrics (the held-out classification report)."""
    data, task = prepared.data, prepared.task
    run.set_status("running", skipped=len(data.skipped))
    train_set, val, evaluation = _datasets(data, config, task.preprocessor.image_converter)
    parts = transfer_parts(task)
    batches_lib.log_steps(train_set)
    histories = finetune(
        parts,
        train_set,
        val,
        plan,
        run,
        augment=_augmenter() if config.augment else None,
        callbacks=callbacks,
        verbose=verbose,
    )
    metrics = _finish(run, task, parts, histories, evaluation, data.class_names, config.batch_size)
    run.set_status("running", accuracy=metrics["accuracy"])
    if config.export:
        report = export_run(
            run,
            task,
            data,
            formats=config.export,
            validation_split=config.validation_split,
            seed=config.seed,
            batch_size=config.batch_size,
        )
        if verbose:
            print_report(report)
    return metrics


def _augmenter():
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal"),
            keras.layers.RandomRotation(0.05, fill_mode="reflect"),
            keras.layers.RandomZoom(0.1, fill_mode="reflect"),
        ],
        name="augment",
    )


def _finish(run, task, parts, histories, evaluation, class_names, batch_size):
    """Score the trained model, save it and its figures; returns the metrics."""
    eval_images, eval_labels, split = evaluation
    preprocess = task.preprocessor.image_converter
    if _on_tensorflow():
        dataset = data_lib.to_dataset(eval_images, eval_labels, batch_size, preprocess)
        logits = parts.model.predict(dataset, verbose=0)
    else:  # every process scores the whole split, also when training was data-parallel
        logits = batches_lib.predict_all(
            parts.model, eval_images, batch_size, _as_float(preprocess)
        )
    predicted = np.argmax(logits, axis=-1)
    report = classification_report(eval_labels, predicted, class_names)
    save_confusion_matrix(report["confusion_matrix"], class_names, run.artifact("confusion.png"))
    save_history(histories, run.artifact("history.png"))
    save_classifier(task, run.artifact("model"))
    run.save_labels(class_names)
    run.save_history(histories)
    return {key: value for key, value in report.items() if key != "per_class"} | {
        "per_class": report["per_class"],
        "split": split,
    }


def _on_tensorflow():
    return keras.backend.backend() == "tensorflow"


def _as_float(preprocess):
    """uint8 images → ``preprocess``ed float32 numpy batches."""
    return lambda images: keras.ops.convert_to_numpy(preprocess(images.astype("float32")))


def _epoch_shuffled_batches(images, labels, batch_size, preprocess, seed):
    """Training batches in an order set by (seed, epoch): a resumed run sees the same order.

    ``tf.data`` on TensorFlow; elsewhere ``shared.batches`` (this process' part of every
    global batch when training is data-parallel)."""
    if not _on_tensorflow():
        return batches_lib.batches(
            (images, labels), batch_size, seed=seed, transform=_as_float(preprocess)
        )
    return data_lib.to_dataset(images, labels, batch_size, preprocess, seed=seed)


def _ordered_batches(images, labels, batch_size, preprocess):
    if not _on_tensorflow():
        return batches_lib.batches((images, labels), batch_size, transform=_as_float(preprocess))
    return data_lib.to_dataset(images, labels, batch_size, preprocess)


def _datasets(data, config, preprocess):
    """Stratified split → (train, val or None, (evaluation images, their labels, split name))."""
    train_index, val_index = split_indices(data.labels, config.validation_split, config.seed)
    batch = config.batch_size
    train_images, train_labels = take_rows(data.images, train_index), data.labels[train_index]
    train_set = _epoch_shuffled_batches(train_images, train_labels, batch, preprocess, config.seed)
    if not len(val_index):  # no held-out split asked for: report on the training images
        return train_set, None, (train_images, train_labels, "train")
    val_images, val_labels = take_rows(data.images, val_index), data.labels[val_index]
    val = _ordered_batches(val_images, val_labels, batch, preprocess)
    return train_set, val, (val_images, val_labels, "validation")
