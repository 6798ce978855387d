"""Sample a trained GAN: images from seeds, latent interpolation; the predict CLI."""

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from apps.gan.model import generate, latent_vectors, load_generator
from shared.cli import report_error


@dataclass
class Samples:
    """Generated images (uint8 arrays, not serialised) and the files written, if any."""

    images: np.ndarray
    model: str
    latency_ms: float
    seed: int
    files: list = field(default_factory=list)

    def to_dict(self):
        """JSON-ready dict (the CLI's ``--json`` line), without the pixel arrays."""
        values = asdict(self)
        values.pop("images")
        return values | {"num_samples": len(self.images)}


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
    """Generate with one trained generator; the CLI, the UI and the tests share it."""

    def __init__(self, generator, ref):
        self.generator, self.ref = generator, ref

    @classmethod
    def load(cls, ref, *, runs_dir=None):
        """Load the generator of a run (``run:<id>``)."""
        return cls(*load_generator(ref, runs_dir=runs_dir))

    def predict(self, num_samples=16, seed=0):
        """``num_samples`` images from a seed: the same seed always gives the same images."""
        if num_samples < 1:
            raise ValueError(f"num_samples must be at least 1, received {num_samples}")
        start = time.perf_counter()
        images = generate(self.generator, latent_vectors(num_samples, seed))
        return Samples(images, self.ref, (time.perf_counter() - start) * 1000, seed)

    def interpolate(self, seed_a, seed_b, steps=8):
        """Images along the straight line between the first latents of two seeds."""
        start, end = latent_vectors(1, seed_a), latent_vectors(1, seed_b)
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


def main(argv=None):
    """``python -m apps.gan.predict --model run:ID --num-samples N --seed S --out DIR``."""
    parser = argparse.ArgumentParser(prog="python -m apps.gan.predict")
    parser.add_argument("--model", required=True, help="a GAN run: run:<id>")
    parser.add_argument("--num-samples", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="samples", help="folder for the PNG files")
    parser.add_argument("--grid", action="store_true", help="also write grid.png")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--runs-dir", default=None)
    args = parser.parse_args(argv)
    try:
        samples = Predictor.load(args.model, runs_dir=args.runs_dir).predict(
            args.num_samples, args.seed
        )
    except (ValueError, OSError) as error:
        return report_error(error)
    samples.files = save_images(samples.images, args.out, prefix=f"seed{args.seed}")
    if args.grid:
        samples.files += save_images([image_grid(samples.images)], args.out, prefix="grid")
    if args.json:
        print(json.dumps(samples.to_dict()))
    else:
        print(f"{len(samples.images)} images from {samples.model} (seed {args.seed}) in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
