"""The GAN's ``Predictor``: images from seeds of a generator, latent interpolation."""

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from apps.gan.model import generate, latent_size, latent_vectors, load_generator, sample
from shared.results import Result, fields_dict


@dataclass(kw_only=True)
class Samples(Result):
    """Generated images and the files written, if any; ``source`` stays None (a generator
    has no input).

    Attributes:
        images: uint8 ``(N, S, S, 3)``.
        seed: the seed of their latent vectors (the same seed gives the same images).
        files: the PNG files they were saved to.
    """

    images: np.ndarray
    seed: int
    files: list[str] = field(default_factory=list)

    def to_dict(self):
        """JSON-ready dict (the CLI's ``--json`` line): the image count, not the pixels."""
        return fields_dict(self, leave_out=("images",)) | {"num_samples": len(self.images)}


def image_grid(images, columns=8):
    """Tile uint8 images (N, S, S, 3) into one grid image."""
    count, size = len(images), images.shape[1]
    rows = -(-count // columns)
    grid = np.zeros((rows * size, min(columns, count) * size, 3), "uint8")
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        grid[row * size : (row + 1) * size, column * size : (column + 1) * size] = image
    return grid


class Predictor:
    """Generate with one generator (bundled or trained); the CLI, the UI and the tests
    share it."""

    def __init__(self, generator, ref):
        self.generator, self.ref = generator, ref

    @classmethod
    def load(cls, ref="", *, runs_dir=None):
        """Load a generator: ``bundled:dcgan_faces`` (the default) or a run (``run:<id>``)."""
        return cls(*load_generator(ref, runs_dir=runs_dir))

    def predict(self, num_samples=16, seed=0):
        """``num_samples`` images from a seed: the same seed always gives the same images."""
        if num_samples < 1:
            raise ValueError(f"num_samples must be at least 1, received {num_samples}")
        start = time.perf_counter()
        images = sample(self.generator, num_samples, seed)
        latency_ms = (time.perf_counter() - start) * 1000
        return Samples(images=images, seed=seed, model=self.ref, latency_ms=latency_ms)

    def interpolate(self, seed_a, seed_b, steps=8):
        """Images along the straight line between the first latents of two seeds."""
        size = latent_size(self.generator)
        start, end = latent_vectors(1, seed_a, size), latent_vectors(1, seed_b, size)
        weights = np.linspace(0, 1, steps, dtype="float32")[:, None]
        return generate(self.generator, (1 - weights) * start + weights * end)


def save_images(images, directory, prefix="sample"):
    """Write images as PNG files; returns their paths."""
    from PIL import Image

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, image in enumerate(images):
        paths.append(str(directory / f"{prefix}_{index:04d}.png"))
        Image.fromarray(image).save(paths[-1])
    return paths
