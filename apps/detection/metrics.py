"""COCO-style mean average precision, computed by pycocotools itself (not re-implemented)."""

import contextlib
import io

import numpy as np

MAX_DETECTIONS = 100  # per image, as COCO scores (pycocotools keeps the top-scored 100)


def _boxes_and_labels(item):
    """``(boxes, labels)`` of a DetectionSample, or of a ``(boxes, labels)`` pair."""
    boxes, labels = (item.boxes, item.labels) if hasattr(item, "boxes") else item
    return np.asarray(boxes, "float64").reshape(-1, 4), np.asarray(labels, "int64").reshape(-1)


def _xywh(box):
    x1, y1, x2, y2 = (float(value) for value in box)
    return [x1, y1, x2 - x1, y2 - y1]


def _ground_truth_dataset(images, class_names):
    """The COCO ``dataset`` dict (category id = label + 1, image id = index + 1)."""
    annotations = []
    for image_id, (boxes, labels) in enumerate(images, 1):
        for box, label in zip(boxes, labels):
            if not 0 <= label < len(class_names):
                raise ValueError(f"ground truth of image {image_id - 1} has unknown label {label}")
            xywh = _xywh(box)
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": int(label) + 1,
                "bbox": xywh, "area": xywh[2] * xywh[3], "iscrowd": 0,
            })  # fmt: skip
    return {
        "images": [{"id": image_id} for image_id in range(1, len(images) + 1)],
        "annotations": annotations,
        "categories": [{"id": label + 1, "name": name} for label, name in enumerate(class_names)],
    }


def _results(predictions):
    """pycocotools' result dicts from per-image ``(boxes, scores, labels)``."""
    results = []
    for image_id, (boxes, scores, labels) in enumerate(predictions, 1):
        boxes = np.asarray(boxes, "float64").reshape(-1, 4)
        for box, score, label in zip(boxes, np.ravel(scores), np.ravel(labels)):
            results.append({
                "image_id": image_id, "category_id": int(label) + 1,
                "bbox": _xywh(box), "score": float(score),
            })  # fmt: skip
    return results


def _per_class_ap(precision, class_names, has_ground_truth):
    """AP@[.5:.95] per class from ``eval['precision']`` (T, R, K, area 'all', 100 dets);
    None for a class with no ground truth (COCO leaves those out of the mean)."""
    per_class = {}
    for label, name in enumerate(class_names):
        values = precision[:, :, label, 0, -1]
        valid = values[values > -1]
        per_class[name] = float(valid.mean()) if has_ground_truth[label] and valid.size else None
    return per_class


def coco_map(ground_truth, predictions, class_names=None):
    """COCO mAP of ``predictions`` against ``ground_truth``, both in pixels ``x1, y1, x2, y2``.

    Args:
        ground_truth: a DetectionData, or a list per image of DetectionSample or
            ``(boxes, labels)``.
        predictions: a list per image (same order) of ``(boxes, scores, labels)``.
        class_names: names for the labels; defaults to ``ground_truth.class_names``.

    Returns:
        ``{"map": AP@[.5:.95], "map50": AP@.5, "map75": AP@.75, "per_class_ap": {name: AP}}``
        (area "all", at most ``MAX_DETECTIONS`` per image). No predictions at all score 0.
    """
    class_names = list(class_names or ground_truth.class_names)
    samples = getattr(ground_truth, "samples", ground_truth)
    images = [_boxes_and_labels(item) for item in samples]
    if len(predictions) != len(images):
        raise ValueError(f"{len(predictions)} predictions for {len(images)} ground-truth images")
    has_ground_truth = np.zeros(len(class_names), bool)
    for _, labels in images:
        has_ground_truth[labels[(labels >= 0) & (labels < len(class_names))]] = True
    if not has_ground_truth.any():
        raise ValueError("the ground truth has no boxes, so mAP is undefined")
    dataset = _ground_truth_dataset(images, class_names)
    results = _results(predictions)
    if not results:  # pycocotools' loadRes fails on an empty list
        per_class = {name: 0.0 if has else None for name, has in zip(class_names, has_ground_truth)}
        return {"map": 0.0, "map50": 0.0, "map75": 0.0, "per_class_ap": per_class}
    return _evaluate(dataset, results, class_names, has_ground_truth)


def _evaluate(dataset, results, class_names, has_ground_truth):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress and tables
        coco = COCO()
        coco.dataset = dataset
        coco.createIndex()
        evaluation = COCOeval(coco, coco.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    stats = [max(float(value), 0.0) for value in evaluation.stats[:3]]
    per_class = _per_class_ap(evaluation.eval["precision"], class_names, has_ground_truth)
    return {"map": stats[0], "map50": stats[1], "map75": stats[2], "per_class_ap": per_class}
