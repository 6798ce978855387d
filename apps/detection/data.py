"""Detection datasets in memory (``DetectionSample``, ``DetectionData``) and the rules every
reader of ``formats.py`` (VOC, COCO and YOLO folders, TFDS VOC) applies to what it reads.

Every reader gives this one format: boxes are float32 ``(N, 4)``
``x1, y1, x2, y2`` in pixels of the original image (edges, so a box over a whole W×H image is
``0, 0, W, H``) and labels int32 ``(N,)`` index ``class_names``. Readers collect what they
cannot parse in ``problems`` instead of raising; ``validate`` finds the rest (boxes, classes,
images) and ``load_checked`` drops broken objects and images, or refuses a mostly broken set.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shared.images import DEFAULT_MAX_PIXELS, decode_image
from shared.sources import is_inside

MAX_SIDE = DEFAULT_MAX_PIXELS  # a longer side is past the decoder's pixel limit on its own


@dataclass
class DetectionSample:
    """One image (a path, or an RGB uint8 array) with its boxes and labels.

    ``image_size`` is ``(height, width)`` when the annotation states it; ``name`` is used in
    messages (the file name by default)."""

    image: object
    boxes: np.ndarray
    labels: np.ndarray
    image_size: tuple | None = None
    name: str | None = None

    def __post_init__(self):
        self.boxes = np.asarray(self.boxes, "float32").reshape(-1, 4)
        self.labels = np.asarray(self.labels, "int32").reshape(-1)
        if len(self.boxes) != len(self.labels):
            raise ValueError(f"{len(self.boxes)} boxes but {len(self.labels)} labels")
        if self.name is None and not isinstance(self.image, np.ndarray):
            self.name = Path(self.image).name


@dataclass
class DetectionData:
    """Samples, the class names their labels index, and problems found while reading."""

    samples: list
    class_names: list
    problems: list = field(default_factory=list)


def load_image(sample):
    """The sample's image as an RGB uint8 array (decoded safely when it is a path)."""
    if isinstance(sample.image, np.ndarray):
        return sample.image
    return decode_image(sample.image)


def pixel_size(value, field):
    """A stated image side as an int: a whole number of pixels, 0 meaning unknown."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not 0 <= number <= MAX_SIDE:  # NaN fails this too
        raise ValueError(f"{field} is {value!r}, not an image size in pixels (0 to {MAX_SIDE:,})")
    return int(number)


def check_inside(path, root, what):
    """Refuse a file outside the dataset folder ``root`` (resolved): an absolute path, ``..``
    or a symlink there would let an uploaded annotation file read any file on the server."""
    if not is_inside(path, root):
        raise ValueError(
            f"{what} is outside the dataset folder (a dataset may only use files inside it)"
        )
