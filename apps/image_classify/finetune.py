"""``python -m apps.image_classify.finetune --data DIR|tfds:NAME [--mode ...]``: train a run."""

import logging
import sys

import numpy as np

from apps.image_classify import data as data_lib
from apps.image_classify.config import FinetuneConfig
from shared import devices, runs
from shared.cli import (
    config_to_dict,
)
from shared.finetune_cli import finetune_main, recording_failures
from shared.metrics import classification_report
from shared.plots import save_confusion_matrix, save_history
from shared.resumable import epoch_shuffled
from shared.training import TrainingPlan, finetune, set_seed

APP = "image_classify"
logger = logging.getLogger(__name__)


def _augmenter():
    import keras

    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal"),
            keras.layers.RandomRotation(0.05, fill_mode="reflect"),
            keras.layers.RandomZoom(0.1, fill_mode="reflect"),
        ],
        name="augment",
    )


def _build(config, num_classes, setup):
    from apps.image_classify.model import build_transfer_classifier

    with setup.scope():
        task = build_transfer_classifier(
            config.model,
            num_classes,
            pretrained=config.mode != "scratch",
            dropout=config.dropout,
            runs_dir=config.runs_dir,
        )
    if config.image_size:
        task.preprocessor.image_converter.image_size = (config.image_size, config.image_size)
    return task


def _finish(run, task, parts, histories, evaluation, class_names, config):
    from apps.image_classify.model import save_classifier, serving_model
    from shared.export import export_saved_model, export_tflite

    eval_dataset, eval_labels, split = evaluation
    predicted = np.argmax(parts.model.predict(eval_dataset, verbose=0), axis=-1)
    report = classification_report(eval_labels, predicted, class_names)
    save_confusion_matrix(report["confusion_matrix"], class_names, run.artifact("confusion.png"))
    save_history(histories, run.artifact("history.png"))
    save_classifier(task, run.artifact("model"))
    if config.export:
        serving = serving_model(task)
        saved_model = export_saved_model(serving, run.artifact("export/saved_model"))
        if "tflite" in config.export:
            export_tflite(saved_model, run.artifact("export/model.tflite"))
    run.save_labels(class_names)
    run.save_history(histories)
    run.save_metrics(
        {key: value for key, value in report.items() if key != "per_class"}
        | {"per_class": report["per_class"], "split": split}
    )
    return report


def _epoch_shuffled_batches(images, labels, batch_size, preprocess, seed):
    """Training batches in an order set by (seed, epoch): a resumed run sees the same order."""
    import tensorflow as tf

    dataset = epoch_shuffled((images, labels), seed).batch(batch_size)
    dataset = dataset.map(
        lambda x, y: (preprocess(tf.cast(x, "float32")), y), num_parallel_calls=tf.data.AUTOTUNE
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def _datasets(data, config, preprocess):
    """Stratified split → (train, val or None, (evaluation dataset, its labels, split name))."""
    train_index, val_index = data_lib.stratified_split(
        data.labels, config.validation_split, config.seed
    )
    batch = config.batch_size
    train = _epoch_shuffled_batches(
        data.images[train_index], data.labels[train_index], batch, preprocess, config.seed
    )
    if not len(val_index):  # no held-out split asked for: report on the training images
        plain = data_lib.to_dataset(
            data.images[train_index], data.labels[train_index], batch, preprocess
        )
        return train, None, (plain, data.labels[train_index], "train")
    val = data_lib.to_dataset(data.images[val_index], data.labels[val_index], batch, preprocess)
    return train, val, (val, data.labels[val_index], "validation")


def run_finetune(config, *, run=None, callbacks=(), verbose=1):
    """Fine-tune per ``config`` into a new (or the given, resumed) run and return the run.

    The data and the starting model are checked before a run is created, so a bad dataset
    or an unreachable preset leaves nothing behind in the registry.
    """
    from apps.image_classify.model import base_image_size, transfer_parts

    config.validate()
    set_seed(config.seed)  # before any weight is created: reproducible heads and scratch runs
    setup = devices.configure()
    image_size = config.image_size or base_image_size(config.model, runs_dir=config.runs_dir)
    data = data_lib.load_source(config.data, image_size, config.max_images_per_class)
    task = _build(config, len(data.class_names), setup)
    run = run or runs.new_run(
        APP, config_to_dict(config), runs_dir=config.runs_dir, name=config.name
    )
    run.set_status("running", device=setup.describe(), skipped=len(data.skipped))
    logger.info("run %s started in %s (resume with --resume %s)", run.ref, run.path, run.ref)
    with recording_failures(run):
        train, val, evaluation = _datasets(data, config, task.preprocessor.image_converter)
        with setup.scope():  # models and optimizers on every GPU under a multi-GPU strategy
            parts = transfer_parts(task)
            histories = finetune(
                parts,
                train,
                val,
                TrainingPlan.from_config(config, jit_compile=setup.jit_compile),
                run,
                augment=_augmenter() if config.augment else None,
                callbacks=callbacks,
                verbose=verbose,
            )
        report = _finish(run, task, parts, histories, evaluation, data.class_names, config)
    run.set_status("complete", accuracy=report["accuracy"], skipped=len(data.skipped))
    return run


def main(argv=None):
    """Parse flags (defaults < --config file < flags), train, print where the run is."""
    return finetune_main(FinetuneConfig, run_finetune, app=APP, argv=argv, input_hint="IMAGE")


if __name__ == "__main__":
    sys.exit(main())
