"""``python -m apps.gan.predict``: sample a trained GAN into image files."""

import json
import sys

from apps.gan.config import PredictConfig
from apps.gan.predictor import Predictor, image_grid, save_images
from shared.cli import parse_command, report_error


def main(argv=None):
    """``python -m apps.gan.predict --model run:ID --num-samples N --seed S --out DIR``; the
    flags (or a ``--config`` file) are ``PredictConfig``'s."""
    config = parse_command(PredictConfig, argv, prog="python -m apps.gan.predict")
    try:
        samples = Predictor.load(config.model, runs_dir=config.runs_dir).predict(
            config.num_samples, config.seed
        )
    except (ValueError, OSError) as error:
        return report_error(error)
    samples.files = save_images(samples.images, config.out, prefix=f"seed{config.seed}")
    if config.grid:
        samples.files += save_images([image_grid(samples.images)], config.out, prefix="grid")
    if config.json:
        print(json.dumps(samples.to_dict()))
    else:
        count, seed, out = len(samples.images), config.seed, config.out
        print(f"{count} images from {samples.model} (seed {seed}) in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
