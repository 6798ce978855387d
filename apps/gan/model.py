"""Build the GANs from a config; load trained generators from runs."""

from pathlib import Path

import numpy as np

from apps.gan.adversarial import GAN, make_optimizers
from apps.gan.config import MODELS
from apps.gan.networks import (
    LATENT_DIM,
    MIN_FEATURE_SIZE,
    DiffAugment,
    build_dcgan_discriminator,
    build_feature_pyramid,
    build_generator,
    build_projected_discriminator,
    build_upsample_generator,
)
from shared.image_backbones import IMAGE_BACKBONES
from shared.model_files import reports_load_failures
from shared.models import resolve_model_ref


@reports_load_failures
def feature_backbone(ref):
    """The pretrained image backbone behind ``ref`` (an image-backbone reference)."""
    import keras_hub

    resolved = resolve_model_ref(ref, IMAGE_BACKBONES)
    backbone = keras_hub.models.Backbone.from_preset(resolved.location)
    layers = {layer.name for layer in getattr(backbone, "layers", [])}
    if "P4" not in getattr(backbone, "pyramid_outputs", {}) or "top_conv" not in layers:
        raise ValueError(
            f"{ref}: the Projected GAN needs an EfficientNet backbone (P2-P4, top_conv)"
        )
    return backbone


# Each architecture's own recipe: the DCGAN's (Radford et al.; DiffAugment's whole policy),
# and for the Projected GAN a FastGAN-style generator and a higher rate, which its spectral-
# normalised hinge-loss discriminators take in their stride (at 2e-4 it got to the same FID
# in about twice the steps). Its frozen features need less augmentation: at 32 px DiffAugment's
# colour and cutout leaked into its samples (flat grey squares, white blobs), translation
# alone did not.
LEARNING_RATES = {"dcgan": 2e-4, "projected": 1e-3}
GENERATORS = {"dcgan": build_generator, "projected": build_upsample_generator}
AUGMENT_POLICIES = {"dcgan": DiffAugment.POLICIES, "projected": ("translation",)}


def build_gan(config):
    """A compiled ``GAN`` of ``config.architecture``."""
    generator = GENERATORS[config.architecture](config.image_size)
    augment = AUGMENT_POLICIES[config.architecture] if config.augment else False
    if config.architecture == "dcgan":
        gan = GAN(
            generator,
            build_dcgan_discriminator(config.image_size),
            augment=augment,
            seed=config.seed,
        )
    else:
        feature_size = config.feature_size or max(config.image_size, MIN_FEATURE_SIZE)
        pyramid = build_feature_pyramid(feature_backbone(config.model), feature_size)
        shapes = [tuple(output.shape[1:]) for output in pyramid.outputs]
        gan = GAN(
            generator,
            build_projected_discriminator(shapes, config.image_size, seed=config.seed),
            feature_pyramid=pyramid,
            augment=augment,
            seed=config.seed,
        )
    learning_rate = config.learning_rate or LEARNING_RATES[config.architecture]
    gan.compile(*make_optimizers(learning_rate))
    gan(np.zeros((1, LATENT_DIM), "float32"))  # built before fit(): the per-epoch backup needs it
    return gan


def generate(generator, latent, batch_size=256):
    """uint8 images (N, S, S, 3) from latent vectors, in batches."""
    batches = [
        np.asarray(generator.predict_on_batch(latent[i : i + batch_size]))
        for i in range(0, len(latent), batch_size)
    ]
    images = np.concatenate(batches)
    return np.clip(np.round((images + 1) * 127.5), 0, 255).astype("uint8")


def latent_vectors(count, seed, latent_dim=LATENT_DIM):
    """Reproducible standard-normal latent vectors for a seed."""
    return np.random.default_rng(seed).standard_normal((count, latent_dim)).astype("float32")


@reports_load_failures
def load_generator(ref, *, runs_dir=None):
    """The trained generator of a GAN run (``run:<id>``, or a ``generator.keras`` path)."""
    import keras

    if not ref or ref.strip().startswith("bundled:"):
        raise ValueError(
            f"{ref or 'no model given'}: the GAN samples generators trained here, none is "
            "bundled: train one with python -m apps.gan.finetune, then use --model run:<id>"
        )
    resolved = resolve_model_ref(ref, MODELS, runs_dir=runs_dir)
    path = Path(resolved.location)  # a run's model.keras is its generator
    if not path.is_file():
        raise ValueError(f"{resolved.ref}: no generator at {path}")
    return keras.saving.load_model(path, compile=False), resolved.ref
