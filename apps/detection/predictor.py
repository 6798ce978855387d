"""The detector's ``Predictor``: objects (or faces) in images, and drawing them."""

import time
import zlib
from dataclasses import dataclass

import numpy as np

from apps.detection.model import Detection, load_detector
from shared.results import Result


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
        """Load the detector behind ``ref`` (default: ``bundled:yolov3_tiny_coco``) and warm
        it up."""
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
