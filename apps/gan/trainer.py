"""GANs trained through ``fit()``: one ``train_step`` for the DCGAN and the Projected GAN."""

import keras
from keras import ops

from apps.gan.models import LATENT_DIM, DiffAugment


@keras.saving.register_keras_serializable(package="transferzoo")
class GAN(keras.Model):
    """Alternating discriminator / generator updates on each real batch.

    Args:
        generator: latent → image model.
        discriminator: image → logit (DCGAN), or feature maps → logit maps (projected).
        feature_pyramid: frozen feature network for the projected kind, else None.
        augment: apply DiffAugment to real and generated images before the discriminator.
    """

    def __init__(
        self,
        generator,
        discriminator,
        feature_pyramid=None,
        augment=True,
        latent_dim=LATENT_DIM,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.feature_pyramid = feature_pyramid
        self.augmenter = DiffAugment(seed=seed) if augment else None
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    @property
    def projected(self):
        """True for the Projected GAN (discriminators on frozen pretrained features)."""
        return self.feature_pyramid is not None

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def _logits(self, images, training):
        if self.augmenter is not None:
            images = self.augmenter(images)
        if self.projected:
            outputs = self.discriminator(
                self.feature_pyramid(images, training=False), training=training
            )
            return [ops.reshape(logits, (ops.shape(logits)[0], -1)) for logits in outputs]
        return [self.discriminator(images, training=training)]

    def _d_loss(self, real_logits, fake_logits):
        if self.projected:  # hinge loss, as in the paper
            return sum(
                ops.mean(ops.relu(1 - r)) + ops.mean(ops.relu(1 + f))
                for r, f in zip(real_logits, fake_logits)
            )
        return sum(
            ops.mean(ops.softplus(-r)) + ops.mean(ops.softplus(f))
            for r, f in zip(real_logits, fake_logits)
        )

    def _g_loss(self, fake_logits):
        if self.projected:
            return sum(-ops.mean(f) for f in fake_logits)
        return sum(ops.mean(ops.softplus(-f)) for f in fake_logits)  # non-saturating

    def sample_latent(self, batch_size):
        """Standard normal latent vectors."""
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def train_step(self, real):
        import tensorflow as tf

        batch_size = ops.shape(real)[0]
        with tf.GradientTape() as tape:
            fake = self.generator(self.sample_latent(batch_size), training=True)
            d_loss = self._d_loss(self._logits(real, True), self._logits(fake, True))
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, weights), weights))
        with tf.GradientTape() as tape:
            fake = self.generator(self.sample_latent(batch_size), training=True)
            g_loss = self._g_loss(self._logits(fake, False))
        weights = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, weights), weights))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    def build(self, input_shape):
        self.generator.build(input_shape)
        super().build(input_shape)

    def call(self, latent, training=False):
        return self.generator(latent, training=training)


def make_optimizers(learning_rate=2e-4):
    """Adam(β1 = 0.5, β2 = 0.999) for both networks, the usual GAN setting."""
    return (
        keras.optimizers.Adam(learning_rate, beta_1=0.5),
        keras.optimizers.Adam(learning_rate, beta_1=0.5),
    )
