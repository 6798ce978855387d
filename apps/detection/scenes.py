"""Synthetic detection scenes with exact boxes (tests, benchmarks, demos), and writers to the
VOC, COCO and YOLO layouts so that every reader in ``data`` can be round-tripped.

Objects are filled shapes in several colours and, when the Fashion-MNIST idx files are
installed, Fashion-MNIST items; they are pasted without overlapping (so every box is the exact
extent of visible pixels) on crops of scikit-image's photos or on tinted textures.
"""

import functools
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

from apps.detection.data import DetectionData, DetectionSample, load_image
from shared.fashion_mnist import FASHION_NAMES, load_split

SHAPES = ("circle", "square", "triangle")
PHOTOS = ("coffee", "chelsea", "rocket", "astronaut")  # scikit-image's bundled photos
TEXTURES = ("brick", "grass", "gravel")  # grayscale; tinted with a random colour
COLOURS = np.array(
    [(230, 40, 40), (40, 200, 60), (50, 90, 230), (240, 200, 30), (200, 60, 220), (250, 250, 250)],
    dtype=np.uint8,
)
PLACEMENT_TRIES = 30


@functools.cache
def _fashion_items():
    """Fashion-MNIST test images ``(10000, 28, 28)`` uint8 and labels, from the idx files."""
    return load_split("test")


@functools.cache
def _picture(name):
    import skimage.data

    picture = getattr(skimage.data, name)()
    return picture if picture.ndim == 3 else np.repeat(picture[..., None], 3, axis=2)


def _resize(array, size):
    from PIL import Image

    return np.array(Image.fromarray(array).resize((size, size), Image.BILINEAR))


def _background(rng, image_size):
    """A random square crop of a photo or texture, or a noisy plain colour."""
    names = PHOTOS + TEXTURES
    choice = int(rng.integers(len(names) + 1))
    if choice == len(names):
        noise = rng.normal(0, 12, (image_size, image_size, 3))
        return np.clip(rng.integers(0, 256, 3) + noise, 0, 255).astype(np.uint8)
    picture = _picture(names[choice])
    side = int(rng.integers(min(picture.shape[:2]) // 3, min(picture.shape[:2]) + 1))
    top, left = (int(rng.integers(0, extent - side + 1)) for extent in picture.shape[:2])
    crop = _resize(np.ascontiguousarray(picture[top : top + side, left : left + side]), image_size)
    if names[choice] in TEXTURES:
        crop = (crop * rng.uniform(0.3, 1.0, 3)).astype(np.uint8)
    return crop


def _object(kind, size, rng):
    """``(mask, paint)`` of one object, ``size`` × ``size`` pixels."""
    colour = COLOURS[rng.integers(len(COLOURS))]
    if kind in FASHION_NAMES:
        images, labels = _fashion_items()
        item = _resize(
            images[rng.choice(np.flatnonzero(labels == FASHION_NAMES.index(kind)))], size
        )
        return item > 40, (item[..., None] / 255.0 * colour).astype(np.uint8)
    yy, xx = np.mgrid[:size, :size] + 0.5
    half = size / 2
    masks = {
        "circle": (yy - half) ** 2 + (xx - half) ** 2 <= half**2,
        "square": np.ones((size, size), bool),
        "triangle": yy >= 2 * np.abs(xx - half),
    }
    return masks[kind], np.broadcast_to(colour, (size, size, 3))


def _place(mask, occupied, rng):
    """A free ``(top, left)`` for ``mask`` (boxes never overlap), or None after a few tries."""
    extent = np.array(occupied.shape) - mask.shape
    for _ in range(PLACEMENT_TRIES):
        top, left = (int(rng.integers(0, limit + 1)) for limit in extent)
        if not occupied[top : top + mask.shape[0], left : left + mask.shape[1]].any():
            return top, left
    return None


def _make_scene(rng, image_size, num_objects, classes, index):
    image = _background(rng, image_size)
    occupied = np.zeros((image_size, image_size), bool)
    boxes, labels = [], []
    for _ in range(num_objects):
        label = int(rng.integers(len(classes)))
        size = int(rng.integers(max(4, image_size * 0.15), image_size * 0.45 + 1))
        mask, paint = _object(classes[label], size, rng)
        placed = _place(mask, occupied, rng)
        if placed is None or not mask.any():
            continue
        top, left = placed
        image[top : top + size, left : left + size][mask] = paint[mask]
        ys, xs = np.nonzero(mask)
        box = [left + xs.min(), top + ys.min(), left + xs.max() + 1, top + ys.max() + 1]
        occupied[box[1] : box[3], box[0] : box[2]] = True
        boxes.append(box)
        labels.append(label)
    return DetectionSample(image, boxes, labels, (image_size, image_size), f"scene_{index:05d}")


def make_scenes(count, image_size=128, max_objects=4, seed=0, classes=SHAPES, min_objects=1):
    """``count`` synthetic scenes as DetectionData with in-memory RGB uint8 arrays.

    Args:
        classes: names from ``SHAPES`` and, when ``shared.fashion_mnist.is_installed()``,
            ``FASHION_NAMES``.
        min_objects, max_objects: objects asked for per scene; fewer when they do not fit.
    """
    unknown = [name for name in classes if name not in SHAPES + FASHION_NAMES]
    if unknown or not classes:
        raise ValueError(f"unknown scene classes {unknown}; accepted: {SHAPES + FASHION_NAMES}")
    rng = np.random.default_rng(seed)
    samples = [
        _make_scene(rng, image_size, int(rng.integers(min_objects, max_objects + 1)), classes, i)
        for i in range(count)
    ]
    return DetectionData(samples, list(classes))


def _write_images(data, image_dir):
    """Save every image as ``00000.png``...; returns ``[(file name, (height, width))]``."""
    from PIL import Image

    image_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index, sample in enumerate(data.samples):
        image = load_image(sample)
        Image.fromarray(image).save(image_dir / f"{index:05d}.png")
        written.append((f"{index:05d}.png", image.shape[:2]))
    return written


def _add(parent, tag, text=None):
    element = ElementTree.SubElement(parent, tag)
    element.text = None if text is None else str(text)
    return element


def write_voc(data, folder):
    """Write ``folder/JPEGImages/*.png`` and ``folder/Annotations/*.xml`` (1-based pixels)."""
    folder = Path(folder)
    (folder / "Annotations").mkdir(parents=True, exist_ok=True)
    for (name, (height, width)), sample in zip(
        _write_images(data, folder / "JPEGImages"), data.samples
    ):
        root = ElementTree.Element("annotation")
        _add(root, "filename", name)
        size = _add(root, "size")
        for key, value in (("width", width), ("height", height), ("depth", 3)):
            _add(size, key, value)
        for box, label in zip(np.round(sample.boxes).astype(int), sample.labels):
            element = _add(root, "object")
            _add(element, "name", data.class_names[label])
            _add(element, "difficult", 0)
            bndbox = _add(element, "bndbox")
            for key, value in zip(("xmin", "ymin", "xmax", "ymax"), box + [1, 1, 0, 0]):
                _add(bndbox, key, value)
        ElementTree.ElementTree(root).write(folder / "Annotations" / f"{Path(name).stem}.xml")
    return folder


def write_coco(data, json_path, images_dir):
    """Write the images to ``images_dir`` and a COCO JSON (category id = label + 1)."""
    json_path, images_dir = Path(json_path), Path(images_dir)
    images, annotations = [], []
    for image_id, ((name, (height, width)), sample) in enumerate(
        zip(_write_images(data, images_dir), data.samples), 1
    ):
        images.append({"id": image_id, "file_name": name, "height": height, "width": width})
        for (x1, y1, x2, y2), label in zip(sample.boxes.tolist(), sample.labels.tolist()):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": label + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
    categories = [{"id": label + 1, "name": name} for label, name in enumerate(data.class_names)]
    json_path.parent.mkdir(parents=True, exist_ok=True)
    coco = {"images": images, "annotations": annotations, "categories": categories}
    json_path.write_text(json.dumps(coco))
    return json_path


def write_yolo(data, folder):
    """Write ``folder/images/*.png``, ``folder/labels/*.txt`` and ``folder/classes.txt``."""
    folder = Path(folder)
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    (folder / "classes.txt").write_text("".join(f"{name}\n" for name in data.class_names))
    for (name, (height, width)), sample in zip(
        _write_images(data, folder / "images"), data.samples
    ):
        lines = []
        for (x1, y1, x2, y2), label in zip(sample.boxes.tolist(), sample.labels.tolist()):
            values = (
                (x1 + x2) / 2 / width,
                (y1 + y2) / 2 / height,
                (x2 - x1) / width,
                (y2 - y1) / height,
            )
            lines.append(f"{label} " + " ".join(f"{value:.6f}" for value in values) + "\n")
        (folder / "labels" / f"{Path(name).stem}.txt").write_text("".join(lines))
    return folder
