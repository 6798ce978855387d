"""Image datasets: class-per-folder directories, TFDS names, and synthetic ones for tests."""

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from shared.images import (
    IMAGE_EXTENSIONS,
    MAX_UNREADABLE_FRACTION,
    decode_image,
    resize_image,
)
from shared.row_pipeline import row_batches
from shared.row_store import RowWriter
from shared.tfds import tfds_load, tfds_source

logger = logging.getLogger(__name__)


@dataclass
class ImageData:
    """Decoded images at one size, with integer labels and class names."""

    images: object  # (N, H, W, 3) uint8: a RowFile on disk when loaded, or an array
    labels: np.ndarray  # (N,) int32
    class_names: list
    skipped: tuple = ()  # (path, reason) of unreadable files that were left out


def scan_folder(root, max_per_class=None):
    """List ``(path, label)`` of a class-per-folder dataset and check its shape.

    Raises:
        ValueError: not a directory, fewer than two classes, or empty classes (listed).
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: not a directory (expected one sub-folder of images per class)")
    class_dirs = sorted(
        path for path in root.iterdir() if path.is_dir() and not path.name.startswith(".")
    )
    if len(class_dirs) < 2:
        found = [path.name for path in class_dirs]
        raise ValueError(f"{root}: needs at least 2 class sub-folders, found {len(found)} {found}")
    files = {
        path.name: sorted(f for f in path.rglob("*") if f.suffix.lower() in IMAGE_EXTENSIONS)
        for path in class_dirs
    }
    empty = [name for name, paths in files.items() if not paths]
    if empty:
        raise ValueError(
            f"{root}: these classes have no images ({', '.join(IMAGE_EXTENSIONS)}): {empty}"
        )
    items = []
    for label, name in enumerate(files):
        items += [(path, label) for path in files[name][:max_per_class]]
    return items, list(files)


def _check_disk(count, size):
    """Decoded images go to a temporary file: refuse a dataset the disk cannot hold."""
    needed, folder = count * size * size * 3, tempfile.gettempdir()
    free = shutil.disk_usage(folder).free
    if needed > 0.9 * free:
        raise ValueError(
            f"{count} images at {size}x{size} need {needed / 1024**3:.1f} GB in {folder}, "
            f"which has {free / 1024**3:.1f} GB free; use --max-images-per-class or a "
            "smaller --image-size (or set TMPDIR to a larger disk)"
        )


def _image_rows(size):
    return RowWriter((size, size, 3), np.uint8)


def load_folder(root, image_size, max_per_class=None):
    """Decode a class-per-folder dataset to ``image_size`` squares, kept in a ``RowFile`` on
    disk (memory stays flat however many images there are).

    Unreadable files are skipped with a warning when they are few; when more than
    ``MAX_UNREADABLE_FRACTION`` of the files are unreadable it is an error listing them.
    """
    items, class_names = scan_folder(root, max_per_class)
    _check_disk(len(items), image_size)
    images, labels, skipped = _image_rows(image_size), [], []
    progress = tqdm(items, desc="decoding images", unit="img", disable=len(items) < 500)
    for path, label in progress:
        try:
            image = resize_image(decode_image(path), (image_size, image_size))
            images.append(image)
            labels.append(label)
        except ValueError as error:
            skipped.append((str(path), str(error)))
    if len(skipped) > MAX_UNREADABLE_FRACTION * len(items):
        listing = "\n  ".join(reason for _, reason in skipped[:20])  # reasons name the file
        raise ValueError(f"{len(skipped)} of {len(items)} images are unreadable:\n  {listing}")
    for path, reason in skipped:
        logger.warning("skipping unreadable image %s (%s)", path, reason)
    counts = np.bincount(labels, minlength=len(class_names))
    if (counts == 0).any():
        lost = [name for name, count in zip(class_names, counts) if count == 0]
        raise ValueError(f"{root}: every image of these classes is unreadable: {lost}")
    rows = images.finish()
    return ImageData(rows, np.asarray(labels, "int32"), class_names, tuple(skipped))


def load_tfds(name, image_size, split="train", max_per_class=None):
    """Load a TFDS image-classification dataset split (its images in a ``RowFile``)."""
    import tensorflow_datasets as tfds

    dataset, info = tfds_load(
        name, split, otherwise="a class-per-folder directory", as_supervised=True
    )
    class_names = list(info.features["label"].names)
    if split in info.splits:
        count = info.splits[split].num_examples
        if max_per_class is not None:
            count = min(count, max_per_class * len(class_names))
        _check_disk(count, image_size)
    images, labels, per_class = _image_rows(image_size), [], np.zeros(len(class_names), int)
    for image, label in tfds.as_numpy(dataset):
        if max_per_class is not None and per_class[label] >= max_per_class:
            continue
        per_class[label] += 1
        rgb = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
        images.append(resize_image(rgb, (image_size, image_size)))
        labels.append(label)
    if not labels:
        raise ValueError(f"tfds:{name}: the {split} split has no images")
    return ImageData(images.finish(), np.asarray(labels, "int32"), class_names)


def load_source(source, image_size, max_per_class=None, *, tfds_split="train"):
    """``tfds:NAME[:SPLIT]`` (default split ``tfds_split``) or a folder path → ``ImageData``."""
    if named := tfds_source(source, tfds_split):
        name, split = named
        return load_tfds(name, image_size, split, max_per_class=max_per_class)
    return load_folder(source, image_size, max_per_class)


def to_dataset(images, labels, batch_size, preprocess, *, seed=None):
    """A batched ``tf.data`` pipeline of ``(preprocess(images), labels)``, each batch's images
    read as it is needed (``images`` may be a ``RowFile`` on disk); in order, or in an order
    set by ``(seed, epoch)`` when ``seed`` is given (a resumed run sees the same order)."""
    import tensorflow as tf

    dataset = row_batches((images, labels), batch_size, seed=seed).map(
        lambda x, y: (preprocess(tf.cast(x, "float32")), y), num_parallel_calls=tf.data.AUTOTUNE
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def synthetic_shapes(num_per_class=8, image_size=32, seed=0):
    """A tiny 3-class dataset of coloured squares, circles and stripes (for tests)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:image_size, :image_size]
    images, labels = [], []
    for label in range(3):
        for _ in range(num_per_class):
            image = rng.integers(0, 60, (image_size, image_size, 3), dtype=np.uint8)
            cy, cx = rng.integers(image_size // 4, 3 * image_size // 4, 2)
            if label == 0:
                mask = (abs(yy - cy) < image_size // 5) & (abs(xx - cx) < image_size // 5)
            elif label == 1:
                mask = (yy - cy) ** 2 + (xx - cx) ** 2 < (image_size // 5) ** 2
            else:
                mask = (xx // max(image_size // 8, 1)) % 2 == 0
            image[mask] = (220, 40 + 80 * label, 255 - 90 * label)
            images.append(image)
            labels.append(label)
    return ImageData(np.stack(images), np.asarray(labels, "int32"), ["square", "circle", "stripes"])


def write_image_folder(data, root):
    """Write ``ImageData`` as a class-per-folder PNG dataset (tests, demos)."""
    from PIL import Image

    root = Path(root)
    for index, (image, label) in enumerate(zip(data.images, data.labels)):
        folder = root / data.class_names[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{index:05d}.png")
    return root
