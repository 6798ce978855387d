"""Build the GANs from a config; load generators: bundled (pretrained) or trained in runs."""

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
from apps.gan.weights import GENERATOR_FILE
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
# Fine-tuning a pretrained generator (a new discriminator beside it): at the DCGAN's rate
# Adam moved its weights far from what it had learnt within 20 steps, and DiffAugment's cutout
# squares showed up in its faces (FID on 100 LFW faces 359 -> 549); at 1/20 of the rate with
# translation alone it kept its faces and its FID went down (359 -> 340 in 100 steps).
PRETRAINED_GENERATOR_RATE_SCALE = 0.05
PRETRAINED_AUGMENT_POLICY = ("translation",)


def build_gan(config, generator=None):
    """A compiled ``GAN`` of ``config.discriminator``, its generator new or the given
    (pretrained) one, whose output size is then the image size."""
    architecture = config.discriminator
    if generator is None:
        generator = GENERATORS[architecture](config.image_size)
    image_size, latent_dim = output_size(generator), latent_size(generator)
    policy = PRETRAINED_AUGMENT_POLICY if config.pretrained else AUGMENT_POLICIES[architecture]
    augment = policy if config.augment else False
    options = dict(augment=augment, latent_dim=latent_dim, seed=config.seed)
    if architecture == "dcgan":
        gan = GAN(generator, build_dcgan_discriminator(image_size), **options)
    else:
        feature_size = config.feature_size or max(image_size, MIN_FEATURE_SIZE)
        # From a pretrained generator, --model names it: the features are the default net's.
        backbone_ref = IMAGE_BACKBONES.default_model if config.pretrained else config.model
        pyramid = build_feature_pyramid(feature_backbone(backbone_ref), feature_size)
        shapes = [tuple(output.shape[1:]) for output in pyramid.outputs]
        gan = GAN(
            generator,
            build_projected_discriminator(shapes, image_size, seed=config.seed),
            feature_pyramid=pyramid,
            **options,
        )
    learning_rate = config.learning_rate or LEARNING_RATES[architecture]
    scale = PRETRAINED_GENERATOR_RATE_SCALE if config.pretrained else 1.0
    gan.compile(*make_optimizers(learning_rate, learning_rate * scale))
    gan(np.zeros((1, latent_dim), "float32"))  # built before fit(): the per-epoch backup needs it
    return gan


def latent_size(generator):
    """The length of the generator's latent vectors (128 here, 100 for the tutorial's)."""
    return int(generator.input_shape[-1])


def output_size(generator):
    """The side of the generator's square images."""
    return int(generator.output_shape[1])


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


def sample(generator, count, seed):
    """uint8 images from ``count`` latent vectors of ``seed`` sized for ``generator``."""
    return generate(generator, latent_vectors(count, seed, latent_size(generator)))


@reports_load_failures
def load_generator(ref="", *, runs_dir=None):
    """A generator and its reference: ``bundled:dcgan_faces`` (the default, for an empty
    ``ref``), a GAN run (``run:<id>``) or a ``generator.keras`` path."""
    import keras

    resolved = resolve_model_ref(ref, MODELS, runs_dir=runs_dir)
    path = Path(resolved.location)  # a run's model.keras is its generator
    if path.is_dir():  # a converted bundled generator
        path = path / GENERATOR_FILE
    if not path.is_file():
        raise ValueError(f"{resolved.ref}: no generator at {path}")
    return keras.saving.load_model(path, compile=False), resolved.ref
