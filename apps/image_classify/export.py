"""Export a fine-tuned classifier run for serving, and check every export on held-out data.

Formats: a SavedModel, TFLite in float32, float16 and int8 (full integer, calibrated on up to
``REPRESENTATIVE_IMAGES`` of the run's training images) and ONNX. Each one is loaded back and
scored on the run's validation images (the split its training held out) next to the Keras
model; ``export/report.json`` keeps the table, and an export that lost more than
``shared.export_metrics.MAX_ACCURACY_DROP`` accuracy points is refused.
"""

import numpy as np

from apps.image_classify import data as data_lib
from apps.image_classify.model import load_classifier, serving_model
from shared.export import FORMATS, checked_exporter, export_checked
from shared.export_check import format_report
from shared.export_metrics import Accuracy
from shared.row_store import take_rows
from shared.splits import split_indices

REPRESENTATIVE_IMAGES = 200


def held_out_split(data, validation_split, seed):
    """``(train images, held-out images, held-out labels)`` as the run's training split them.

    With no validation split the run was scored on its training images, and so are the
    exports.
    """
    train_index, val_index = split_indices(data.labels, validation_split, seed)
    held_out = val_index if len(val_index) else train_index
    return take_rows(data.images, train_index), data.images[held_out], data.labels[held_out]


def representative_images(images, seed, count=REPRESENTATIVE_IMAGES):
    """Up to ``count`` of ``images`` chosen at random with ``seed``, as float32."""
    chosen = np.random.default_rng(seed).permutation(len(images))[:count]
    return images[np.sort(chosen)].astype("float32")


def export_run(run, task, data, *, formats, validation_split, seed, batch_size=32):
    """Write the asked ``formats`` (``shared.export.FORMATS``) into the run, check them, report.

    Args:
        run: the run to write ``export/`` into.
        task: its trained keras-hub ImageClassifier.
        data: the run's ``ImageData`` (all images, at the model's size).
        formats: which exports to write; "saved_model" is always written.
        validation_split, seed: the run's split (``held_out_split``).
        batch_size: images per call when scoring.

    Returns:
        The report (``shared.export_check.check_exports``), also written to
        ``export/report.json``. An export that fails to convert is a "failed" row.
    """
    train_images, held_out, labels = held_out_split(data, validation_split, seed)
    serving = serving_model(task)
    serving.predict(held_out[:1].astype("float32"), verbose=0)  # ONNX export needs it called
    return export_checked(
        serving,
        run,
        formats,
        representative=representative_images(train_images, seed),
        examples=held_out,
        metric=Accuracy(labels),
        batch_size=batch_size,
    )


def export_classifier(run, formats=tuple(FORMATS)):
    """Export a complete run to ``formats`` (all by default), reloading its data; the report.

    The images are read again from the run's ``data`` source with its own settings, so the
    held-out split is the one its training scored.
    """
    runs_dir = run.path.parent.parent
    task, _, _ = load_classifier(run.ref, runs_dir=runs_dir)
    config = run.config
    height, _ = task.preprocessor.image_converter.image_size
    data = data_lib.load_source(config["data"], height, config.get("max_images_per_class"))
    return export_run(
        run,
        task,
        data,
        formats=formats,
        validation_split=config["validation_split"],
        seed=config["seed"],
    )


def print_report(report):
    """Print the export table."""
    print(format_report(report), flush=True)


EXPORTERS = (checked_exporter(export_classifier),)
