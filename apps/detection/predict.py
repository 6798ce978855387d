"""``python -m apps.detection.predict``: detect objects in images, folders, globs and lists."""

import sys
from pathlib import Path

from apps.detection.config import PredictConfig
from apps.detection.predictor import Predictor, draw_detections
from shared import predict_cli
from shared.cli import parse_command, report_error
from shared.images import IMAGE_EXTENSIONS, decode_image
from shared.inputs import InputPaths

CSV_COLUMNS = ("source", "label", "score", "x1", "y1", "x2", "y2", "model", "latency_ms", "error")


def main(argv=None):
    """``python -m apps.detection.predict IMAGE|FOLDER|GLOB|LIST.txt... --model REF
    [--json|--csv] [--save-dir DIR]``; the flags (or a ``--config`` file) are
    ``PredictConfig``'s."""
    config = parse_command(PredictConfig, argv, prog="python -m apps.detection.predict")
    try:
        inputs = InputPaths(config.inputs, IMAGE_EXTENSIONS)
        predictor = Predictor.load(config.model, runs_dir=config.runs_dir)
    except (ValueError, OSError) as error:
        return report_error(error)

    options = {"score_threshold": config.score_threshold, "iou_threshold": config.iou_threshold}
    return predict_cli.run(
        inputs,
        decode=decode_image,
        predict=predict_cli.one_at_a_time(
            lambda image, source: predictor.predict(image, source=source, **options)
        ),
        output=predict_cli.Output(describe, CSV_COLUMNS, csv_rows),
        mode=predict_cli.output_mode(config),
        after=DrawingSaver(config.save_dir) if config.save_dir else None,
        unit="image",
    )


class DrawingSaver:
    """Writes each drawn result to ``save_dir`` as ``<stem>_detections.png``; a stem seen
    before in the same run (``a/x.jpg``, ``b/x.jpg``) gets ``_2``, ``_3``... so none is
    overwritten."""

    def __init__(self, save_dir):
        self.save_dir, self.used = Path(save_dir), set()

    def __call__(self, image, result):
        from PIL import Image

        stem, number = Path(result.source).stem, 1
        while (name := stem if number == 1 else f"{stem}_{number}") in self.used:
            number += 1
        self.used.add(name)
        self.save_dir.mkdir(parents=True, exist_ok=True)
        target = self.save_dir / f"{name}_detections.png"
        Image.fromarray(draw_detections(image, result.detections)).save(target)


def describe(result):
    """The text lines of one result: how many were found, then one line per box."""
    lines = [
        f"{result.source}: {len(result.detections)} found ({result.model}, "
        f"{result.latency_ms:.0f} ms)"
    ]
    for found in result.detections:
        box = ", ".join(f"{value:.0f}" for value in found.box)
        lines.append(f"  {found.label:<16} {found.score:.2f}  [{box}]")
    return "\n".join(lines)


def csv_rows(result):
    """One row per box (see ``CSV_COLUMNS``); an image without any gets one row, no box."""
    common = {"source": result.source, "model": result.model, "latency_ms": result.latency_ms}
    boxes = [
        common
        | {"label": found.label, "score": found.score}
        | dict(zip(("x1", "y1", "x2", "y2"), found.box))
        for found in result.detections
    ]
    return boxes or [common]


if __name__ == "__main__":
    sys.exit(main())
