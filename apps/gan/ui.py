"""What the pages use of image generation: its demo data."""

import numpy as np
from PIL import Image

from apps.gan.data import synthetic_blobs
from shared.app_spec import DemoData


def write_demo_data(folder):
    """64 coloured discs on noisy backgrounds, 32×32 PNG files."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(synthetic_blobs(64, 32, seed=0)):
        pixels = np.round((image + 1) * 127.5).astype("uint8")
        Image.fromarray(pixels).save(folder / f"{index:03d}.png")


DEMO_DATA = DemoData("coloured discs on noisy backgrounds (64 images)", write_demo_data)
