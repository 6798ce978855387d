"""A folder of synthetic-blob PNG files: the GAN tests' tiny training set."""

import numpy as np
from PIL import Image

from apps.gan.data import synthetic_blobs


def write_blob_folder(folder, count=16, size=16):
    """``count`` blob images of ``size`` px as PNG files in ``folder``; returns it."""
    for index, image in enumerate(synthetic_blobs(count, size, seed=0)):
        pixels = np.round((image + 1) * 127.5).astype("uint8")
        Image.fromarray(pixels).save(folder / f"blob_{index:02d}.png")
    return folder
