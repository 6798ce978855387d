"""FID and KID of a trained generator against real images, with the sample counts stated.

``python -m apps.gan.evaluate --model run:<id> --data SOURCE [--num-samples N] [--json]``.
The numbers are only comparable between evaluations with the same feature network and
the same sample counts: FID is biased upwards for small sets.
"""

import sys

from apps.gan.config import EvaluateConfig
from apps.gan.data import load_images
from apps.gan.metrics import compute_fid_kid, get_feature_extractor
from apps.gan.model import sample
from apps.gan.predictor import Predictor
from shared.cli import parse_command, print_report

# Fake latents come from another stream than the training-time FID (10_000 + epoch)
# and the predict CLI (small seeds), so evaluating does not reuse the shown samples.
LATENT_SEED_OFFSET = 1_000_000


def evaluate(
    ref,
    source,
    *,
    num_samples=1000,
    image_size=None,
    runs_dir=None,
    seed=0,
    network="efficientnet_lite0",
):
    """FID/KID of ``num_samples`` generated images vs up to ``num_samples`` real ones.

    Args:
        ref: a GAN run (``run:<id>``), ``bundled:dcgan_faces`` or a generator ``.keras`` file.
        source: real images: a folder, ``tfds:NAME[:SPLIT]`` or ``fashion-mnist[:SPLIT]``.
        num_samples: generated images, and the most real images used.
        image_size: checked against the generator's output size when given (the real
            images are always resized to the generator's size).
        runs_dir: runs registry root (default: ``$TRANSFERZOO_RUNS_DIR`` or ``runs/``).
        seed: seeds the real subset, the latents and the KID subsets.
        network: the feature network ("efficientnet_lite0" bundled, or "inception_v3").

    Returns:
        ``compute_fid_kid``'s dict (fid, kid, kid_std, num_real, num_fake, kid_subset_size,
        feature_network, feature_size) plus model, data and image_size.
    """
    if num_samples < 2:
        raise ValueError(f"num_samples must be at least 2 for FID/KID, received {num_samples}")
    predictor = Predictor.load(ref, runs_dir=runs_dir)
    generated_size = int(predictor.generator.output_shape[1])
    if image_size is not None and image_size != generated_size:
        raise ValueError(
            f"image_size {image_size} differs from the generator's output size {generated_size}"
        )
    real = load_images(source, generated_size, max_images=num_samples, seed=seed)
    if len(real) < 2:
        raise ValueError(f"{source}: {len(real)} image, FID/KID need at least 2")
    extractor = get_feature_extractor(network)
    fake = sample(predictor.generator, num_samples, LATENT_SEED_OFFSET + seed)
    scores = compute_fid_kid(real, fake, extractor, seed=seed)
    return scores | {"model": predictor.ref, "data": str(source), "image_size": generated_size}


def describe(report):
    """One human line: the scores, and what they were measured on."""
    return (
        f"{report['model']} vs {report['data']}: FID {report['fid']:.2f}, "
        f"KID {report['kid']:.4f} ± {report['kid_std']:.4f} "
        f"({report['num_fake']} generated vs {report['num_real']} real images at "
        f"{report['image_size']}px, KID subsets of {report['kid_subset_size']}; features: "
        f"{report['feature_network']} at {report['feature_size']}px)"
    )


def main(argv=None):
    """Parse the flags (or a ``--config`` file) into ``EvaluateConfig``, evaluate, print the
    scores (one JSON line with ``--json``)."""
    config = parse_command(EvaluateConfig, argv, prog="python -m apps.gan.evaluate")
    return print_report(
        lambda: evaluate(
            config.model,
            config.data,
            num_samples=config.num_samples,
            runs_dir=config.runs_dir,
            seed=config.seed,
            network=config.network,
        ),
        as_json=config.json,
        describe=describe,
    )


if __name__ == "__main__":
    sys.exit(main())
