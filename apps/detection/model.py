"""Load detectors: bundled YOLOv3-tiny (COCO) and MTCNN faces, fine-tuned CenterNet and YOLO
runs, keras-hub COCO presets.

Every loaded detector has ``detect(image, score_threshold, iou_threshold)`` returning a list
of ``Detection``, best first.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apps.detection.centernet import decode
from apps.detection.centernet_fit import prepare_image
from apps.detection.config import MODELS
from apps.detection.mtcnn import load_mtcnn
from apps.detection.yolo import decode as decode_yolo
from apps.detection.yolo import letterbox, unletterbox
from apps.detection.yolo_weights import FORMAT_NAME as YOLO_FORMAT
from apps.detection.yolo_weights import coco_names
from shared.atomic_io import read_json
from shared.model_files import file_in, reports_load_failures
from shared.models import resolve_model_ref
from shared.results import fields_dict


@dataclass(kw_only=True)
class Detection:
    """One object a detector found in an image.

    Attributes:
        label: its class name ("face", "cup" ...).
        score: the detector's confidence, 0 to 1.
        box: ``[x1, y1, x2, y2]`` in the image's pixels.
        keypoints: the five face landmarks ``{name: (x, y)}`` in pixels that MTCNN gives
            (eyes, nose, mouth corners); None for other detectors.
    """

    label: str
    score: float
    box: list[float]
    keypoints: dict | None = None

    def to_dict(self):
        """JSON-ready dict; ``keypoints`` only where the detector gives them."""
        return fields_dict(self, leave_out=() if self.keypoints else ("keypoints",))


def nms(boxes, scores, iou_threshold):
    """Indices kept by greedy non-maximum suppression (numpy), best score first."""
    order, keep = np.argsort(-scores), []
    areas = np.prod(np.maximum(boxes[:, 2:] - boxes[:, :2], 0), axis=1)
    while len(order):
        best, order = order[0], order[1:]
        keep.append(best)
        top_left = np.maximum(boxes[best, :2], boxes[order, :2])
        bottom_right = np.minimum(boxes[best, 2:], boxes[order, 2:])
        overlap = np.prod(np.maximum(bottom_right - top_left, 0), axis=1)
        iou = overlap / (areas[best] + areas[order] - overlap + 1e-9)
        order = order[iou <= iou_threshold]
    return np.asarray(keep, int)


def _as_detections(boxes, scores, labels, class_names, image_shape, iou_threshold):
    height, width = image_shape[:2]
    boxes = np.clip(boxes, 0, [width, height, width, height])
    keep = []
    for label in np.unique(labels):  # class-wise suppression
        index = np.flatnonzero(labels == label)
        keep += list(index[nms(boxes[index], scores[index], iou_threshold)])
    keep = sorted(keep, key=lambda i: -scores[i])
    return [
        Detection(
            label=class_names[int(labels[i])],
            score=float(scores[i]),
            box=[round(float(v), 1) for v in boxes[i]],
        )
        for i in keep
    ]


class MTCNNFaces:
    """The bundled MTCNN cascade as a detector (label "face", with five landmarks)."""

    class_names = ["face"]

    def __init__(self, detector):
        self.detector = detector

    def detect(self, image, score_threshold=0.7, iou_threshold=0.7):
        faces = self.detector.detect(image, thresholds=(0.6, 0.7, score_threshold))
        if faces:  # the cascade's own NMS is fixed; the caller's overlap limit applies on top
            boxes = np.array([face["box"] for face in faces], "float32")
            keep = nms(boxes, np.array([face["score"] for face in faces]), iou_threshold)
            faces = [faces[i] for i in keep]
        return [
            Detection(
                label="face", score=face["score"], box=face["box"], keypoints=face["keypoints"]
            )
            for face in faces
        ]


class YoloDetector:
    """A darknet YOLO (the bundled YOLOv3-tiny on COCO): letterboxed input, decoded heads,
    class-wise NMS, boxes in the image's pixels."""

    def __init__(self, model, class_names, heads, input_size, score_threshold=0.25):
        self.model, self.class_names, self.heads = model, list(class_names), heads
        self.input_size, self.default_score = input_size, score_threshold

    def detect(self, image, score_threshold=None, iou_threshold=0.5):
        score_threshold = self.default_score if score_threshold is None else score_threshold
        boxed, scale, offset = letterbox(image, self.input_size)
        head_maps = [np.asarray(out)[0] for out in self.model.predict_on_batch(boxed[None])]
        return self.detections(
            head_maps, image.shape, scale, offset, score_threshold, iou_threshold
        )

    def detections(self, head_maps, image_shape, scale, offset, score_threshold, iou_threshold=0.5):
        """``Detection`` list of one image from its head maps (the model's outputs without
        the batch axis) and its ``letterbox`` ``scale`` and ``offset``."""
        boxes, scores, labels = decode_yolo(head_maps, self.heads, self.input_size, score_threshold)
        boxes = unletterbox(boxes, scale, offset)
        return _as_detections(boxes, scores, labels, self.class_names, image_shape, iou_threshold)


def load_yolo(preset_dir):
    """A ``YoloDetector`` from a preset written by ``yolo_weights.convert_yolov3_tiny_coco``."""
    import keras

    config = read_json(Path(preset_dir) / "config.json")
    model = keras.saving.load_model(file_in(preset_dir, config["model"]), compile=False)
    return YoloDetector(
        model,
        config["labels"],
        config["heads"],
        int(config["input_size"]),
        float(config["defaults"]["score_threshold"]),
    )


class CenterNetDetector:
    """A fine-tuned CenterNet (see ``apps.detection.centernet``) from a run."""

    def __init__(self, model, class_names, image_size, scale=1 / 127.5, offset=-1.0):
        self.model, self.class_names, self.image_size = model, list(class_names), image_size
        self.scale, self.offset = scale, offset

    def detect(self, image, score_threshold=0.3, iou_threshold=0.5):
        inputs = prepare_image(image, self.image_size, self.scale, self.offset)[None]
        outputs = np.asarray(self.model.predict_on_batch(inputs))[0]
        boxes, scores, labels = decode(
            outputs, len(self.class_names), score_threshold=score_threshold
        )
        height, width = image.shape[:2]
        boxes = boxes * np.array([width, height, width, height]) / self.image_size
        return _as_detections(boxes, scores, labels, self.class_names, image.shape, iou_threshold)


class HubDetector:
    """A keras-hub ``ImageObjectDetector`` preset (RetinaNet, D-FINE; COCO classes)."""

    def __init__(self, task, class_names):
        self.task, self.class_names = task, class_names

    def detect(self, image, score_threshold=0.5, iou_threshold=0.5):
        result = self.task.predict(image[None].astype("float32"), verbose=0)
        boxes = np.asarray(result["boxes"])[0]
        scores = np.asarray(result["confidence"])[0]
        labels = np.asarray(result["labels"])[0].astype(int)
        valid = (scores >= score_threshold) & (labels >= 0)
        return _as_detections(
            boxes[valid], scores[valid], labels[valid], self.class_names, image.shape, iou_threshold
        )


@reports_load_failures
def load_detector(ref=None, *, runs_dir=None):
    """Load a detector from any model reference (default ``bundled:yolov3_tiny_coco``).

    Returns:
        ``(detector, ref)`` where ``detector.detect(...)`` returns ``Detection`` lists.
    """
    resolved = resolve_model_ref(ref, MODELS, runs_dir=runs_dir)
    if resolved.kind == "bundled":
        config = read_json(Path(resolved.location) / "config.json") or {}
        if config.get("format") == YOLO_FORMAT:
            return load_yolo(resolved.location), resolved.ref
        return MTCNNFaces(load_mtcnn(resolved.location)), resolved.ref
    if resolved.kind == "preset":
        import keras_hub

        task = keras_hub.models.ImageObjectDetector.from_preset(resolved.location)
        return HubDetector(task, coco_names()), resolved.ref
    return _load_centernet(resolved), resolved.ref


def _load_centernet(resolved):
    import keras

    location = Path(resolved.location)
    model_file = location if location.suffix == ".keras" else location / "model.keras"
    if not model_file.is_file():
        raise ValueError(f"{resolved.ref}: no detector model at {model_file}")
    meta = read_json(model_file.parent / "detector.json") or {}
    names = resolved.run.labels if resolved.run is not None else meta.get("class_names")
    if not names:
        raise ValueError(f"{resolved.ref}: no class names (labels.json or detector.json)")
    model = keras.saving.load_model(model_file, compile=False)
    size = int(meta.get("image_size", model.input_shape[1]))
    if meta.get("architecture") == "yolov3_tiny":  # a YOLO fine-tune (``yolo_fit``)
        return YoloDetector(model, names, meta["heads"], size, meta.get("score_threshold", 0.25))
    return CenterNetDetector(
        model, names, size, meta.get("scale", 1 / 127.5), meta.get("offset", -1.0)
    )
