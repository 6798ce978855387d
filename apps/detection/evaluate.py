"""COCO mAP (pycocotools) of a detector on a VOC / COCO / YOLO / TFDS dataset; the CLI."""

import sys

from apps.detection import data as data_lib
from apps.detection.checks import load_checked
from apps.detection.config import EvaluateConfig
from apps.detection.metrics import coco_map
from apps.detection.predictor import Predictor
from shared.cli import parse_command, print_report


def evaluate(ref, source, *, runs_dir=None, score_threshold=0.01, iou_threshold=0.5):
    """Detect on every image of ``source`` and score with pycocotools.

    Dataset classes are matched to the detector's classes by name; objects of classes the
    detector does not know are left out (and counted).
    """
    predictor = Predictor.load(ref, runs_dir=runs_dir)
    data = load_checked(source)
    names = predictor.class_names
    known = {name.lower(): index for index, name in enumerate(names)}
    mapping = {i: known.get(name.lower(), -1) for i, name in enumerate(data.class_names)}
    if all(value < 0 for value in mapping.values()):
        raise ValueError(
            f"no class of {source} ({data.class_names}) is one of the detector's ({names[:10]} ...)"
        )
    truths, predictions, skipped = [], [], 0
    for sample in data.samples:
        labels = [mapping[int(label)] for label in sample.labels]
        keep = [i for i, label in enumerate(labels) if label >= 0]
        skipped += len(labels) - len(keep)
        truths.append((sample.boxes[keep], [labels[i] for i in keep]))
        found = predictor.predict(
            data_lib.load_image(sample),
            score_threshold=score_threshold,
            iou_threshold=iou_threshold,
        ).detections
        predictions.append(
            (
                [d.box for d in found],
                [d.score for d in found],
                [known[d.label.lower()] for d in found],
            )
        )
    report = coco_map(truths, predictions, names)
    return report | {"model": predictor.ref, "num_images": len(truths), "skipped_objects": skipped}


def describe(report):
    """mAP figures, then AP per class, as text."""
    lines = [
        f"{report['model']} on {report['num_images']} images: mAP {report['map']:.3f}, "
        f"mAP50 {report['map50']:.3f}, mAP75 {report['map75']:.3f}"
    ]
    lines += [
        f"  {name:<20} AP {ap:.3f}" for name, ap in report["per_class_ap"].items() if ap is not None
    ]
    return "\n".join(lines)


def main(argv=None):
    """``python -m apps.detection.evaluate --model REF --data SOURCE [--json]``; the flags
    (or a ``--config`` file) are ``EvaluateConfig``'s."""
    config = parse_command(EvaluateConfig, argv, prog="python -m apps.detection.evaluate")
    return print_report(
        lambda: evaluate(config.model, config.data, runs_dir=config.runs_dir),
        as_json=config.json,
        describe=describe,
    )


if __name__ == "__main__":
    sys.exit(main())
