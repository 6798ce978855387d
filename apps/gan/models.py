"""Generators and discriminators: a DCGAN baseline and a Projected GAN (Sauer et al., 2021).

The Projected GAN's discriminators look at *frozen pretrained* EfficientNet-Lite features at
three scales (strides 4, 8, 16), mixed across channels by fixed random 1x1 projections (the
paper's CCM) and across scales by adding the upsampled deeper map (a simplified CSM), with a
small conv discriminator per scale. Both models train through ``fit()`` (``train_step`` in
``apps.gan.trainer``); this module only builds networks.
"""

import math

import keras
from keras import layers, ops

LATENT_DIM = 128


def build_generator(image_size, latent_dim=LATENT_DIM, width=256, name="generator"):
    """DCGAN generator: z → 4×4 → (Conv2DTranspose, BN, ReLU)* → tanh image in [-1, 1]."""
    steps = int(math.log2(image_size // 4))
    if 4 * 2**steps != image_size:
        raise ValueError(f"image_size must be 4·2^k (16, 32, 64, 128), received {image_size}")
    latent = keras.Input((latent_dim,), name="latent")
    x = layers.Dense(4 * 4 * width, use_bias=False)(latent)
    x = layers.ReLU()(layers.BatchNormalization()(layers.Reshape((4, 4, width))(x)))
    for step in range(steps - 1):
        filters = max(width // 2 ** (step + 1), 32)
        x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
    images = layers.Conv2DTranspose(
        3, 4, strides=2, padding="same", activation="tanh", dtype="float32"
    )(x)
    return keras.Model(latent, images, name=name)


def build_dcgan_discriminator(image_size, width=64):
    """DCGAN discriminator: strided convs with LeakyReLU → one logit."""
    images = keras.Input((image_size, image_size, 3), name="images")
    x = images
    for step in range(int(math.log2(image_size // 4))):
        x = layers.Conv2D(width * 2**step, 4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
    logits = layers.Dense(1, dtype="float32")(layers.Flatten()(x))
    return keras.Model(images, logits, name="discriminator")


def build_feature_pyramid(backbone, feature_size):
    """The frozen backbone cut after stride 16: images in [-1, 1] → P2, P3, P4 maps."""
    pyramid = backbone.pyramid_outputs
    features = keras.Model(
        backbone.inputs, [pyramid["P2"], pyramid["P3"], pyramid["P4"]], name="frozen_features"
    )
    features.trainable = False
    images = keras.Input((None, None, 3), name="images")
    resized = layers.Resizing(feature_size, feature_size, interpolation="bilinear")(images)
    return keras.Model(images, features(resized, training=False), name="feature_pyramid")


def build_projected_discriminator(feature_shapes, channels=64, seed=0):
    """Random fixed 1x1 projections (CCM), top-down scale mixing (CSM), one small
    discriminator per scale; returns a model from the three feature maps to three logits."""
    inputs = [keras.Input(shape, name=f"features_{i}") for i, shape in enumerate(feature_shapes)]
    projected = []
    for index, feature in enumerate(inputs):
        mixing = layers.Conv2D(
            channels,
            1,
            use_bias=False,
            name=f"ccm_{index}",
            kernel_initializer=keras.initializers.HeNormal(seed + index),
        )
        mixing.trainable = False  # random and fixed, as in the paper
        projected.append(mixing(feature))
    mixed = [None, None, projected[2]]
    for index in (1, 0):  # add the upsampled deeper scale (CSM, simplified without convs)
        mixed[index] = layers.Add()([projected[index], layers.UpSampling2D(2)(mixed[index + 1])])
    logits = []
    for index, feature in enumerate(mixed):
        x = feature
        for step in range(2 - index + 1):  # fewer downsamplings for the coarser scales
            x = layers.Conv2D(channels * 2 ** min(step, 2), 4, strides=2, padding="same")(x)
            x = layers.LeakyReLU(0.2)(x)
        logits.append(layers.Conv2D(1, 1, dtype="float32", name=f"logits_{index}")(x))
    return keras.Model(inputs, logits, name="projected_discriminators")


@keras.saving.register_keras_serializable(package="transferzoo")
class DiffAugment(layers.Layer):
    """Differentiable augmentation (Zhao et al., 2020): colour, translation and cutout,
    applied identically to real and generated images before the discriminator."""

    def __init__(self, translation=0.125, cutout=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.translation, self.cutout = translation, cutout
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images):
        batch = ops.shape(images)[0]
        size = ops.shape(images)[1]
        brightness = keras.random.uniform((batch, 1, 1, 1), -0.5, 0.5, seed=self.seed_generator)
        images = images + brightness
        mean = ops.mean(images, axis=-1, keepdims=True)
        saturation = keras.random.uniform((batch, 1, 1, 1), 0.0, 2.0, seed=self.seed_generator)
        images = (images - mean) * saturation + mean
        shift = ops.cast(ops.cast(size, "float32") * self.translation, "int32")
        dx, dy = (
            keras.random.randint((), -shift, shift + 1, seed=self.seed_generator) for _ in "xy"
        )
        images = ops.roll(ops.roll(images, dx, axis=2), dy, axis=1)
        cut = ops.cast(ops.cast(size, "float32") * self.cutout / 2, "int32")
        centre = keras.random.randint((batch, 2), 0, size, seed=self.seed_generator)
        grid = ops.arange(size)
        rows = ops.abs(grid[None, :] - centre[:, :1]) < cut
        cols = ops.abs(grid[None, :] - centre[:, 1:]) < cut
        mask = ops.cast(ops.logical_and(rows[:, :, None], cols[:, None, :]), images.dtype)
        return images * (1.0 - mask[..., None])

    def get_config(self):
        return super().get_config() | {"translation": self.translation, "cutout": self.cutout}
