"""Checks of detection datasets: broken boxes, unknown classes, missing or unreadable images."""

import logging
from dataclasses import replace

import numpy as np

from apps.detection.data import DetectionData, load_image
from apps.detection.formats import load_detection_source

logger = logging.getLogger(__name__)
BOX_TOLERANCE = 1.0  # pixels a box may pass the image edge (rounding in annotation tools)
MAX_LISTED_PROBLEMS = 20


def _object_problem(box, label, num_classes, size):
    x1, y1, x2, y2 = (float(value) for value in box)
    shown = f"[{x1:g}, {y1:g}, {x2:g}, {y2:g}]"
    if not 0 <= label < num_classes:
        return f"unknown class id {label} (the dataset names {num_classes} classes)"
    if not np.isfinite(box).all() or x2 <= x1 or y2 <= y1:
        return f"zero or negative area, box {shown}"
    width, height = (size[1], size[0]) if size else (np.inf, np.inf)
    if min(x1, y1) < -BOX_TOLERANCE or x2 > width + BOX_TOLERANCE or y2 > height + BOX_TOLERANCE:
        return f"box {shown} is outside the {size[1]}x{size[0]} image"
    return None


def _sample_problems(sample, index, num_classes, check_images):
    """``(image problem or None, {object index: problem})`` of one sample."""
    where = sample.name or f"sample {index}"
    size = sample.image_size
    if isinstance(sample.image, np.ndarray) or check_images:
        try:
            real = tuple(load_image(sample).shape[:2])
        except ValueError as error:
            return f"{where}: missing or unreadable image ({error})", {}
        if size and tuple(size) != real:
            stated = f"the annotation says {size[1]}x{size[0]}"
            return f"{where}: {stated}, the image is {real[1]}x{real[0]}", {}
        size = real
    objects = {}
    for number, (box, label) in enumerate(zip(sample.boxes, sample.labels)):
        problem = _object_problem(box, label, num_classes, size)
        if problem:
            objects[number] = f"{where} object {number}: {problem}"
    return None, objects


def validate(data, check_images=True):
    """Human-readable problems of ``data``: the readers' own, then boxes outside the image
    (beyond ``BOX_TOLERANCE``), zero or negative areas, unknown classes, missing or unreadable
    images (decoded when ``check_images``), each naming the file and object index."""
    problems = list(data.problems)
    for index, sample in enumerate(data.samples):
        image_problem, objects = _sample_problems(
            sample, index, len(data.class_names), check_images
        )
        problems += [image_problem] if image_problem else list(objects.values())
    return problems


def load_checked(source, max_problem_fraction=0.1, check_images=True):
    """Load a source (or take a DetectionData) and drop broken objects and images with a
    warning; more than ``max_problem_fraction`` broken images is a ValueError listing them."""
    data = source if isinstance(source, DetectionData) else load_detection_source(source)
    messages, kept, broken = list(data.problems), [], len(data.problems)
    for index, sample in enumerate(data.samples):
        image_problem, objects = _sample_problems(
            sample, index, len(data.class_names), check_images
        )
        broken += bool(image_problem or objects)
        messages += [image_problem] if image_problem else list(objects.values())
        if not image_problem:
            keep = np.array([number not in objects for number in range(len(sample.labels))], bool)
            kept.append(replace(sample, boxes=sample.boxes[keep], labels=sample.labels[keep]))
    total = len(data.samples) + len(data.problems)
    listing = "\n  ".join(messages[:MAX_LISTED_PROBLEMS])
    more = (
        f"\n  ... and {len(messages) - MAX_LISTED_PROBLEMS} more"
        if len(messages) > MAX_LISTED_PROBLEMS
        else ""
    )
    if total == 0 or broken > max_problem_fraction * total:
        raise ValueError(
            f"{source}: {broken} of {total} images have annotation problems:\n  {listing}{more}"
        )
    if messages:
        logger.warning(
            "dropping %d broken objects or images:\n  %s%s", len(messages), listing, more
        )
    return DetectionData(kept, data.class_names)
