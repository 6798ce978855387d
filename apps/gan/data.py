"""GAN training images: folders, TFDS names, Fashion-MNIST from Debian, and synthetic blobs.

Every loader returns float32 ``(N, S, S, channels)`` in [-1, 1], the generators' tanh range.
"""

import logging
from pathlib import Path

import numpy as np

from shared.fashion_mnist import FASHION_NAMES, load_split
from shared.images import IMAGE_EXTENSIONS, MAX_UNREADABLE_FRACTION, decode_image, resize_image
from shared.tfds import tfds_load, tfds_source

IMAGE_SIZES = (16, 32, 64, 128)
MAX_DATASET_BYTES = 3 * 1024**3  # float32 images are kept in memory
_GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114], "float32")  # ITU-R BT.601 luma
logger = logging.getLogger(__name__)


def check_image_size(image_size):
    """Raise ``ValueError`` unless ``image_size`` is one the GAN models are built for."""
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"image_size must be one of {IMAGE_SIZES}, got {image_size!r}")


def to_unit_range(images, channels=3):
    """uint8 ``(N, H, W, 3)`` → float32 in [-1, 1] with ``channels`` 3 (RGB) or 1 (luma)."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}")
    images = images.astype("float32") / 127.5 - 1.0
    return images @ _GRAY_WEIGHTS[:, None] if channels == 1 else images


def _check_memory(count, image_size):
    needed = count * image_size * image_size * 3 * 4  # float32 RGB, the largest output
    if needed > MAX_DATASET_BYTES:
        raise ValueError(
            f"{count} images at {image_size}x{image_size} need {needed / 1024**3:.1f} GB in "
            f"memory; pass max_images (--max-images) or a smaller image size"
        )


def _pick(count, max_images, seed):
    """Sorted indices of a seeded random subset of ``max_images`` (all when None)."""
    if max_images is None or max_images >= count:
        return np.arange(count)
    if max_images < 1:
        raise ValueError(f"max_images must be at least 1, got {max_images!r}")
    return np.sort(np.random.default_rng(seed).choice(count, max_images, replace=False))


def _resize_batch(images, image_size, chunk=1024):
    """Resize a uint8 batch like ``resize_image`` does (bilinear, no antialias), in chunks."""
    import keras

    out = []
    for start in range(0, len(images), chunk):
        batch = images[start : start + chunk].astype("float32")
        resized = keras.ops.image.resize(batch, (image_size, image_size), antialias=False)
        out.append(np.clip(np.round(keras.ops.convert_to_numpy(resized)), 0, 255))
    return np.concatenate(out).astype("uint8")


def _fashion_class(class_filter):
    if class_filter is None or isinstance(class_filter, int):
        index = class_filter
    elif str(class_filter).isdigit():
        index = int(class_filter)
    elif class_filter in FASHION_NAMES:
        index = FASHION_NAMES.index(class_filter)
    else:
        raise ValueError(f"Unknown Fashion-MNIST class {class_filter!r}; one of {FASHION_NAMES}")
    if index is not None and not 0 <= index < len(FASHION_NAMES):
        raise ValueError(f"Fashion-MNIST class index must be 0-9, got {index}")
    return index


def load_fashion_mnist(split, image_size, *, max_images=None, seed=0, class_filter=None):
    """Fashion-MNIST ``split`` ("train" or "test") as uint8 RGB ``(N, S, S, 3)``.

    ``class_filter``: a name from ``FASHION_NAMES`` (e.g. "sneaker") or a label index.
    """
    images, labels = load_split(split)
    index = _fashion_class(class_filter)
    keep = np.arange(len(labels)) if index is None else np.flatnonzero(labels == index)
    keep = keep[_pick(len(keep), max_images, seed)]
    _check_memory(len(keep), image_size)
    return np.repeat(_resize_batch(images[keep][..., None], image_size), 3, axis=-1)


def load_image_folder(root, image_size, *, max_images=None, seed=0, class_filter=None):
    """Every image under ``root`` (recursively) as uint8 RGB ``(N, S, S, 3)``.

    ``class_filter`` keeps only the images under the sub-folder of that name. Unreadable
    files are skipped with a warning unless they are more than a tenth of the files.
    """
    root = Path(root)
    if class_filter is not None:
        root = root / str(class_filter)
    if not root.is_dir():
        raise ValueError(f"{root}: not a directory of images")
    paths = sorted(
        path
        for path in root.rglob("*")
        if path.suffix.lower() in IMAGE_EXTENSIONS
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )
    if not paths:
        raise ValueError(f"{root}: no images ({', '.join(IMAGE_EXTENSIONS)}) found")
    paths = [paths[i] for i in _pick(len(paths), max_images, seed)]
    _check_memory(len(paths), image_size)
    images, skipped = [], []
    for path in paths:
        try:
            images.append(resize_image(decode_image(path), (image_size, image_size)))
        except ValueError as error:
            skipped.append(str(error))  # the decoder's message names the file
    if not images or len(skipped) > MAX_UNREADABLE_FRACTION * len(paths):
        listing = "\n  ".join(skipped[:20])
        raise ValueError(f"{len(skipped)} of {len(paths)} images are unreadable:\n  {listing}")
    for reason in skipped:
        logger.warning("skipping unreadable image: %s", reason)
    return np.stack(images)


def _tfds_label(info, class_filter):
    if class_filter is None:
        return None
    if "label" not in info.features:
        raise ValueError(f"class_filter={class_filter!r} needs a 'label' feature; there is none")
    if isinstance(class_filter, int) or str(class_filter).isdigit():
        return int(class_filter)
    names = list(getattr(info.features["label"], "names", None) or [])
    if class_filter not in names:
        raise ValueError(f"class {class_filter!r} is not a label of this dataset: {names}")
    return names.index(class_filter)


def load_tfds_images(name, image_size, *, split="train", max_images=None, class_filter=None):
    """The ``image`` feature of a TFDS dataset split as uint8 RGB ``(N, S, S, 3)``.

    Offline, the dataset must already be prepared in the TFDS data dir. The first
    ``max_images`` (after ``class_filter`` on its ``label`` feature) are taken, in file order.
    """
    import tensorflow_datasets as tfds

    dataset, info = tfds_load(name, split, otherwise="a folder of images or fashion-mnist")
    label = _tfds_label(info, class_filter)
    images = []
    for example in tfds.as_numpy(dataset):
        if label is not None and int(example["label"]) != label:
            continue
        image = example["image"]
        rgb = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image[..., :3]
        images.append(resize_image(rgb, (image_size, image_size)))
        _check_memory(len(images), image_size)
        if max_images is not None and len(images) >= max_images:
            break
    if not images:
        raise ValueError(f"tfds:{name} split {split!r} has no images (class {class_filter!r})")
    return np.stack(images)


def load_images(source, image_size, *, max_images=None, seed=0, channels=3, class_filter=None):
    """Load training images as float32 ``(N, S, S, channels)`` in [-1, 1].

    Args:
        source: a folder (searched recursively), ``tfds:NAME[:SPLIT]``, or
            ``fashion-mnist[:train|test]`` (Debian's ``dataset-fashion-mnist`` idx files).
        image_size: the square side S, one of ``IMAGE_SIZES``.
        max_images: keep a seeded random subset of this many (tfds: the first ones).
        seed: seed of that subset.
        channels: 3 for RGB, 1 for grayscale (luma).
        class_filter: a single class to keep: a Fashion-MNIST name such as "sneaker", a
            TFDS label name or index, or a sub-folder name of the folder.

    Raises:
        ValueError: a bad image size, an unknown or unavailable source, unreadable images.
    """
    check_image_size(image_size)
    source = str(source)
    options = {"max_images": max_images, "class_filter": class_filter}
    if named := tfds_source(source):
        name, split = named
        images = load_tfds_images(name, image_size, split=split, **options)
    elif source == "fashion-mnist" or source.startswith("fashion-mnist:"):
        split = source.partition(":")[2] or "train"
        images = load_fashion_mnist(split, image_size, seed=seed, **options)
    else:
        images = load_image_folder(source, image_size, seed=seed, **options)
    return to_unit_range(images, channels)


def synthetic_blobs(count, image_size=32, seed=0):
    """``count`` coloured discs on noisy backgrounds, float32 ``(N, S, S, 3)`` in [-1, 1]."""
    check_image_size(image_size)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:image_size, :image_size] + 0.5
    images = np.empty((count, image_size, image_size, 3), "float32")
    for index in range(count):
        background = rng.uniform(-1.0, -0.2, 3) + rng.normal(0, 0.15, (image_size, image_size, 3))
        radius = rng.uniform(0.15, 0.35) * image_size
        cy, cx = rng.uniform(radius, image_size - radius, 2)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
        background[disc] = rng.uniform(0.2, 1.0, 3)
        images[index] = np.clip(background, -1.0, 1.0)
    return images
