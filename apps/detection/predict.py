"""Detect objects (or faces) in images; draw them; the predict CLI."""

import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apps.detection.config import PredictConfig
from apps.detection.model import Detection, load_detector
from shared import predict_cli
from shared.cli import parse_command, report_error
from shared.images import IMAGE_EXTENSIONS, decode_image
from shared.inputs import InputPaths
from shared.results import Result

CSV_COLUMNS = ("source", "label", "score", "x1", "y1", "x2", "y2", "model", "latency_ms", "error")


@dataclass(kw_only=True)
class Detections(Result):
    """What a detector found in one image: its ``Detection`` list, best first, and the
    image's ``(height, width)``."""

    detections: list[Detection]
    image_size: tuple


class Predictor:
    """Run one loaded detector; the CLI, the UI and the tests share it."""

    def __init__(self, detector, ref):
        self.detector, self.ref = detector, ref

    @classmethod
    def load(cls, ref=None, *, runs_dir=None):
        """Load the detector behind ``ref`` (default: ``bundled:mtcnn_faces``) and warm it up."""
        predictor = cls(*load_detector(ref, runs_dir=runs_dir))
        predictor.predict(np.zeros((64, 64, 3), "uint8"))
        return predictor

    @property
    def class_names(self):
        """The labels this detector can output."""
        return list(self.detector.class_names)

    def predict(self, image, *, score_threshold=None, iou_threshold=0.5, source=None):
        """Detect in one RGB uint8 image; thresholds default to the detector's own."""
        image = np.asarray(image)
        options = {"iou_threshold": iou_threshold}
        if score_threshold is not None:
            options["score_threshold"] = score_threshold
        start = time.perf_counter()
        found = self.detector.detect(image, **options)
        latency_ms = (time.perf_counter() - start) * 1000
        return Detections(
            detections=found,
            image_size=tuple(image.shape[:2]),
            model=self.ref,
            latency_ms=latency_ms,
            source=source,
        )


def draw_detections(image, detections, width=3):
    """A copy of ``image`` with each ``Detection``'s box, label and score (and face
    landmarks) drawn."""
    from PIL import Image, ImageDraw

    canvas = Image.fromarray(np.asarray(image).astype("uint8"))
    draw = ImageDraw.Draw(canvas)
    palette = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180)]
    for found in detections:  # one stable colour per class name, across processes
        colour = palette[zlib.crc32(str(found.label).encode()) % len(palette)]
        draw.rectangle(found.box, outline=colour, width=width)
        caption = f"{found.label} {found.score:.2f}"
        x1, y1 = found.box[:2]
        text_box = draw.textbbox((x1, y1), caption)
        draw.rectangle((x1, y1 - (text_box[3] - text_box[1]) - 4, text_box[2] + 4, y1), fill=colour)
        draw.text((x1 + 2, y1 - (text_box[3] - text_box[1]) - 3), caption, fill=(255, 255, 255))
        for x, y in (found.keypoints or {}).values():
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colour)
    return np.asarray(canvas)


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
