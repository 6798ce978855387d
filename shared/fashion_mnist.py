"""Fashion-MNIST from Debian's ``dataset-fashion-mnist`` idx files (nothing is downloaded)."""

import gzip
from pathlib import Path

import numpy as np

# Fashion-MNIST's ten classes, in label order.
FASHION_NAMES = tuple("tshirt trouser pullover dress coat sandal shirt sneaker bag boot".split())
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist
SPLIT_PREFIXES = {"train": "train", "test": "t10k"}


def split_paths(split):
    """The ``(images, labels)`` idx file paths of ``split`` ("train" or "test")."""
    if split not in SPLIT_PREFIXES:
        raise ValueError(f"Fashion-MNIST split must be 'train' or 'test', got {split!r}")
    prefix = SPLIT_PREFIXES[split]
    return tuple(
        FASHION_DIR / f"{prefix}-{kind}-ubyte.gz" for kind in ("images-idx3", "labels-idx1")
    )


def is_installed(split="test"):
    """True when the idx files of ``split`` are installed in ``FASHION_DIR``."""
    return all(path.is_file() for path in split_paths(split))


def _read_idx(path, offset):
    with gzip.open(path) as file:
        return np.frombuffer(file.read(), np.uint8, offset=offset)


def load_split(split):
    """Images ``(N, 28, 28)`` uint8 and labels ``(N,)`` uint8 of ``split``.

    Raises:
        ValueError: an unknown split, or the idx files are not installed (names the package).
    """
    images_path, labels_path = split_paths(split)
    if not is_installed(split):
        raise ValueError(
            f"Fashion-MNIST is not installed ({images_path} missing); "
            f"run `apt-get install dataset-fashion-mnist` or use another dataset"
        )
    return _read_idx(images_path, 16).reshape(-1, 28, 28), _read_idx(labels_path, 8)
