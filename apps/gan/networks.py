"""Generators and discriminators: a DCGAN baseline and a Projected GAN (Sauer et al., 2021).

The Projected GAN's discriminators look at *frozen pretrained* EfficientNet-Lite features at
four scales (strides 4, 8, 16, 32, the paper's four stages), mixed across channels by fixed
random 1x1 convolutions (the paper's CCM) and across scales by fixed random 3x3 convolutions
on the sum of each map and the upsampled coarser mix (CSM). Each scale has its own small
discriminator (DownBlocks: spectral-normalised 4x4 stride-2 conv, BatchNorm, LeakyReLU), and
a small pixel discriminator sits beside them: the ImageNet features barely see colour,
brightness or a bright frame on a dark background, and without it the generator fooled them
with exactly those. Its generator is FastGAN's shape (nearest upsampling + 3x3 convs), which
unlike transposed convolutions gives no checkerboard for the frozen features to latch onto.
Both models train through ``fit()`` (``train_step`` in ``apps.gan.adversarial``).
"""

import math

import keras
from keras import layers, ops

LATENT_DIM = 128
# PyTorch's BatchNorm momentum (Keras 0.99 needs hundreds of steps): the generator changes
# fast, and samples are drawn in inference mode, from these moving statistics.
BATCH_NORM_MOMENTUM = 0.9
MIN_FEATURE_SIZE = 32  # the deepest feature map has stride 32


def _upsampling_steps(image_size):
    steps = int(math.log2(max(image_size, 4) // 4))
    if 4 * 2**steps != image_size:
        raise ValueError(f"image_size must be 4·2^k (16, 32, 64, 128), received {image_size}")
    return steps


def _latent_to_4x4(latent_dim, width):
    latent = keras.Input((latent_dim,), name="latent")
    x = layers.Dense(4 * 4 * width, use_bias=False)(latent)
    x = layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM)(layers.Reshape((4, 4, width))(x))
    return latent, layers.ReLU()(x)


def build_generator(image_size, latent_dim=LATENT_DIM, width=256, name="generator"):
    """DCGAN generator: z → 4×4 → (Conv2DTranspose, BN, ReLU)* → tanh image in [-1, 1]."""
    steps = _upsampling_steps(image_size)
    latent, x = _latent_to_4x4(latent_dim, width)
    for step in range(steps - 1):
        filters = max(width // 2 ** (step + 1), 32)
        x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM)(x))
    images = layers.Conv2DTranspose(
        3, 4, strides=2, padding="same", activation="tanh", dtype="float32"
    )(x)
    return keras.Model(latent, images, name=name)


# The PyTorch DCGAN tutorial's generator (``nz``, ``ngf``), the shape of ``bundled:dcgan_faces``.
TUTORIAL_LATENT_DIM = 100
TUTORIAL_WIDTH = 64


def build_tutorial_generator(latent_dim=TUTORIAL_LATENT_DIM, width=TUTORIAL_WIDTH):
    """The PyTorch DCGAN tutorial's 64×64 generator, layer for layer: z as 1×1 → transposed
    conv 4×4 (stride 1, no padding) to 4×4 → three transposed convs 4×4 stride 2 padding 1,
    each with BatchNorm (ε 1e-5) and ReLU → one to 3 channels, tanh. PyTorch's padding p
    crops p pixels from each side of the full transposed convolution: ``Cropping2D(1)``.
    The layers are named ``deconv_<i>`` and ``batch_norm_<i>`` for the weight converter."""
    latent = keras.Input((latent_dim,), name="latent")
    x = layers.Reshape((1, 1, latent_dim))(latent)
    for index, filters in enumerate((8 * width, 4 * width, 2 * width, width, 3)):
        strides = 1 if index == 0 else 2
        x = layers.Conv2DTranspose(
            filters, 4, strides=strides, use_bias=False, name=f"deconv_{index}"
        )(x)
        if index:
            x = layers.Cropping2D(1)(x)
        if filters == 3:
            break
        x = layers.BatchNormalization(
            epsilon=1e-5, momentum=BATCH_NORM_MOMENTUM, name=f"batch_norm_{index}"
        )(x)
        x = layers.ReLU()(x)
    images = layers.Activation("tanh", dtype="float32")(x)
    return keras.Model(latent, images, name="generator")


def build_upsample_generator(image_size, latent_dim=LATENT_DIM, width=256, name="generator"):
    """FastGAN-style generator: z → 4×4 → (nearest ×2, 3x3 conv, BN, ReLU)* → 3x3 conv, tanh."""
    steps = _upsampling_steps(image_size)
    latent, x = _latent_to_4x4(latent_dim, width)
    for step in range(steps):
        x = layers.UpSampling2D(2)(x)
        x = layers.Conv2D(max(width // 2 ** (step + 1), 32), 3, padding="same", use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM)(x))
    images = layers.Conv2D(3, 3, padding="same", activation="tanh", dtype="float32")(x)
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
    """The frozen EfficientNet backbone: images in [-1, 1] (its own input range, as in the
    classifier's preprocessing) resized to ``feature_size`` → its four stage outputs at strides
    4, 8, 16 and 32 (P2-P4 and the last block's output, before the 1x1 top conv)."""
    if feature_size < MIN_FEATURE_SIZE:
        raise ValueError(f"feature_size must be >= {MIN_FEATURE_SIZE}, received {feature_size}")
    pyramid = backbone.pyramid_outputs
    stages = [pyramid["P2"], pyramid["P3"], pyramid["P4"], backbone.get_layer("top_conv").input]
    features = keras.Model(backbone.inputs, stages, name="frozen_features")
    features.trainable = False
    images = keras.Input((None, None, 3), name="images")
    resized = layers.Resizing(feature_size, feature_size, interpolation="bilinear")(images)
    # training=False: BatchNorm keeps its ImageNet statistics; gradients still reach the images.
    return keras.Model(images, features(resized, training=False), name="feature_pyramid")


def _fixed_conv(filters, kernel_size, seed, name):
    """A random convolution that is never trained (PyTorch's default init, as the paper's)."""
    init = keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform", seed=seed)
    bias_init = keras.initializers.RandomUniform(-0.05, 0.05, seed=seed + 1)
    conv = layers.Conv2D(
        filters,
        kernel_size,
        padding="same",
        kernel_initializer=init,
        bias_initializer=bias_init,
        name=name,
    )
    conv.trainable = False
    return conv


def _project(features, channels, seed):
    """CCM, then CSM from the coarsest scale to the finest: the mixed maps, finest first."""
    projected = [
        _fixed_conv(channels * 2**index, 1, seed + 10 * index, f"ccm_{index}")(feature)
        for index, feature in enumerate(features)
    ]
    mixed = [None] * len(projected)
    for index in reversed(range(len(projected))):
        x = projected[index]
        if index + 1 < len(projected):
            coarser = mixed[index + 1]
            upsampled = layers.Resizing(x.shape[1], x.shape[2], interpolation="bilinear")(coarser)
            x = layers.Add()([x, upsampled])
        filters = channels * 2 ** max(index - 1, 0)  # the coarser mix matches the next scale
        mixed[index] = _fixed_conv(filters, 3, seed + 10 * index + 5, f"csm_{index}")(x)
    return mixed


@keras.saving.register_keras_serializable(package="transferzoo")
class SpectralConv2D(layers.Conv2D):
    """Conv2D with its kernel divided by its largest singular value, estimated by one power
    iteration per training call (``torch.nn.utils.spectral_norm``). Unlike Keras'
    ``SpectralNormalization`` wrapper it needs no ``cond``, which cost ~10 s of tracing."""

    def build(self, input_shape):
        super().build(input_shape)
        self.vector_u = self.add_weight(
            shape=(1, self.filters),
            initializer=keras.initializers.RandomNormal(),
            trainable=False,
            name="vector_u",
        )

    # Conv2D saves and loads only its kernel and bias, but checks the count of all the
    # layer's variables on load: without these, no checkpoint of it (BackupAndRestore's
    # included) loads. The power iteration's vector is saved after them.
    def save_own_variables(self, store):
        super().save_own_variables(store)
        if self.built:
            store[self._vector_u_key] = self.vector_u

    def load_own_variables(self, store):
        super().load_own_variables(store)
        if self.built:
            self.vector_u.assign(store[self._vector_u_key])

    @property
    def _vector_u_key(self):
        return "2" if self.use_bias else "1"

    def call(self, inputs, training=None):
        weights = ops.reshape(self.kernel, (-1, self.filters))
        vector_v = ops.normalize(ops.matmul(self.vector_u, ops.transpose(weights)), axis=-1)
        vector_u = ops.stop_gradient(ops.normalize(ops.matmul(vector_v, weights), axis=-1))
        vector_v = ops.stop_gradient(vector_v)
        if training:
            self.vector_u.assign(vector_u)
        sigma = ops.sum(ops.matmul(vector_v, weights) * vector_u)
        outputs = self.convolution_op(inputs, self.kernel / sigma)
        if self.use_bias:
            outputs = outputs + self.bias
        return outputs if self.activation is None else self.activation(outputs)


def _down_to_logits(x, channels, name):
    """DownBlocks (spectral-norm 4x4 stride-2 conv, BN, LeakyReLU) to 4x4, then a logit map."""
    size = x.shape[1]
    while size > 4:
        x = SpectralConv2D(channels, 4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(layers.BatchNormalization()(x))
        size = x.shape[1]
    return SpectralConv2D(1, min(size, 4), use_bias=False, dtype="float32", name=name)(x)


def _pixel_logits(images, channels):
    """A small spectral-normalised conv discriminator on the images themselves."""
    x, size, filters = images, images.shape[1], channels
    while size > 4:
        conv = SpectralConv2D(min(filters, 4 * channels), 4, strides=2, padding="same")
        x = layers.LeakyReLU(0.2)(conv(x))
        size, filters = x.shape[1], filters * 2
    return SpectralConv2D(1, 4, use_bias=False, dtype="float32", name="logits_pixels")(x)


def build_projected_discriminator(feature_shapes, image_size, channels=64, seed=0):
    """Fixed random CCM + CSM on the frozen feature maps, one trained discriminator per scale
    and one on the pixels: ``[images, *feature maps]`` → a list of logit maps."""
    images = keras.Input((image_size, image_size, 3), name="images")
    features = [keras.Input(shape, name=f"features_{i}") for i, shape in enumerate(feature_shapes)]
    logits = [
        _down_to_logits(mixed, channels, f"logits_{index}")
        for index, mixed in enumerate(_project(features, channels, seed))
    ]
    logits.append(_pixel_logits(images, channels))
    return keras.Model([images, *features], logits, name="projected_discriminators")


@keras.saving.register_keras_serializable(package="transferzoo")
class DiffAugment(layers.Layer):
    """Differentiable augmentation (Zhao et al., 2020), applied identically to real and
    generated images before the discriminator.

    Args:
        policy: any of "color" (brightness, saturation), "translation" (one shift of the
            batch, wrapping round) and "cutout" (a grey square per image).
    """

    POLICIES = ("color", "translation", "cutout")

    def __init__(self, translation=0.125, cutout=0.5, seed=None, policy=POLICIES, **kwargs):
        super().__init__(**kwargs)
        unknown = set(policy) - set(self.POLICIES)
        if unknown:
            raise ValueError(f"policy must be among {self.POLICIES}, received {list(policy)}")
        self.translation, self.cutout, self.policy = translation, cutout, tuple(policy)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images):
        for name in self.policy:
            images = getattr(self, f"_{name}")(images)
        return images

    def _uniform(self, images, low, high):
        shape = (ops.shape(images)[0], 1, 1, 1)
        return keras.random.uniform(shape, low, high, seed=self.seed_generator)

    def _color(self, images):
        images = images + self._uniform(images, -0.5, 0.5)
        mean = ops.mean(images, axis=-1, keepdims=True)
        return (images - mean) * self._uniform(images, 0.0, 2.0) + mean

    def _translation(self, images):
        shift = ops.cast(ops.cast(ops.shape(images)[1], "float32") * self.translation, "int32")
        dx, dy = (
            keras.random.randint((), -shift, shift + 1, seed=self.seed_generator) for _ in "xy"
        )
        return ops.roll(ops.roll(images, dx, axis=2), dy, axis=1)

    def _cutout(self, images):
        size = ops.shape(images)[1]
        cut = ops.cast(ops.cast(size, "float32") * self.cutout / 2, "int32")
        centre = keras.random.randint((ops.shape(images)[0], 2), 0, size, seed=self.seed_generator)
        grid = ops.arange(size)
        rows = ops.abs(grid[None, :] - centre[:, :1]) < cut
        cols = ops.abs(grid[None, :] - centre[:, 1:]) < cut
        mask = ops.cast(ops.logical_and(rows[:, :, None], cols[:, None, :]), images.dtype)
        return images * (1.0 - mask[..., None])

    def get_config(self):
        return super().get_config() | {
            "translation": self.translation,
            "cutout": self.cutout,
            "policy": list(self.policy),
        }
