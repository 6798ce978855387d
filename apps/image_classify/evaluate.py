"""Accuracy, per-class precision/recall and confusion matrix of a classifier on a dataset."""

import sys

import numpy as np

from apps.image_classify import data as data_lib
from apps.image_classify.config import EvaluateConfig
from apps.image_classify.model import image_size_of, load_classifier
from shared.cli import parse_command, print_report
from shared.metrics import classification_report


def predict_labels(model, images, batch_size=32):
    """Arg-max class of each image (uint8 at the model's size: an array or a ``RowFile`` on
    disk, read a batch at a time)."""
    predicted = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].astype("float32")
        predicted.append(np.argmax(np.asarray(model.predict_on_batch(batch)), axis=-1))
    return np.concatenate(predicted)


def _map_to_model_labels(dataset_names, model_labels):
    """Dataset class index -> model output index, matched by name; ValueError if missing."""
    lookup = {name.lower(): index for index, name in enumerate(model_labels)}
    missing = [name for name in dataset_names if name.lower() not in lookup]
    if missing:
        raise ValueError(
            f"the model has no class named {missing}; its classes are {model_labels[:20]}"
            + (" ..." if len(model_labels) > 20 else "")
        )
    return np.array([lookup[name.lower()] for name in dataset_names])


def evaluate(ref, source, *, batch_size=32, runs_dir=None, max_per_class=None):
    """Evaluate the model behind ``ref`` on a folder or ``tfds:`` source.

    Dataset classes are matched to the model's classes by name.
    """
    task, labels, ref = load_classifier(ref, runs_dir=runs_dir)
    size = image_size_of(task)[0]
    data = data_lib.load_source(source, size, max_per_class, tfds_split="test")
    mapping = _map_to_model_labels(data.class_names, labels)
    predicted = predict_labels(task, data.images, batch_size)
    report = classification_report(mapping[data.labels], predicted, labels)
    used = sorted(set(mapping.tolist()) | set(predicted.tolist()))
    report["per_class"] = {labels[i]: report["per_class"][labels[i]] for i in used}
    matrix = np.asarray(report["confusion_matrix"])[np.ix_(used, used)]
    report["confusion_matrix"] = matrix.tolist()
    report["confusion_labels"] = [labels[i] for i in used]
    # Macro averages over the classes in play, not over all (e.g. 1000 ImageNet) outputs.
    for key in ("precision", "recall"):
        values = [scores[key] for scores in report["per_class"].values()]
        report[f"macro_{key}"] = float(np.mean(values)) if values else 0.0
    report["model"] = ref
    return report


def describe(report):
    """Accuracy, then precision and recall per class, as text."""
    lines = [f"{report['model']}: accuracy {report['accuracy']:.3f} on {report['num_examples']}"]
    for name, scores in report["per_class"].items():
        lines.append(
            f"  {name:<24} precision {scores['precision']:.3f}  recall {scores['recall']:.3f}"
            f"  n={scores['support']}"
        )
    return "\n".join(lines)


def main(argv=None):
    """``python -m apps.image_classify.evaluate --model REF --data SOURCE [--json]``; the
    flags (or a ``--config`` file) are ``EvaluateConfig``'s."""
    config = parse_command(EvaluateConfig, argv, prog="python -m apps.image_classify.evaluate")
    return print_report(
        lambda: evaluate(
            config.model,
            config.data,
            batch_size=config.batch_size,
            runs_dir=config.runs_dir,
            max_per_class=config.max_images_per_class,
        ),
        as_json=config.json,
        describe=describe,
    )


if __name__ == "__main__":
    sys.exit(main())
