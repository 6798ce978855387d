"""GANs trained through ``fit()``: one ``train_step`` for the DCGAN and the Projected GAN."""

import keras
from keras import ops

from apps.gan import stateless_step
from apps.gan.networks import LATENT_DIM, DiffAugment


@keras.saving.register_keras_serializable(package="transferzoo")
class GAN(keras.Model):
    """A discriminator and a generator update on each real batch: alternating for the
    DCGAN, from one shared pass for the Projected GAN.

    Args:
        generator: latent → image model.
        discriminator: image → logit (DCGAN), or ``[images, *feature maps]`` → logit maps
            (projected).
        feature_pyramid: frozen feature network for the projected kind, else None.
        augment: apply DiffAugment to real and generated images before the discriminator:
            True (its whole policy), a sequence of policy names, or False.
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
        self.augmenter = None
        if augment:  # True: DiffAugment's whole policy; or a sequence of its policy names
            policy = DiffAugment.POLICIES if augment is True else augment
            self.augmenter = DiffAugment(seed=seed, policy=policy)
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
        if keras.backend.backend() == "jax":  # fit carries `self.optimizer`'s variables only
            kwargs["optimizer"] = stateless_step.JointOptimizer((d_optimizer, g_optimizer))
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        # Built before fit(): a checkpoint (the per-epoch backup's) restores an optimizer's
        # slots only into a built one, and the backup builds only `self.optimizer`, which
        # train_step never uses: built empty, it saves and loads as it is (on JAX it stands
        # for both optimizers, which save themselves).
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)
        self.optimizer.build([])

    def _logits(self, images, training):
        if self.augmenter is not None:
            images = self.augmenter(images)
        if self.projected:
            # The frozen features stay in inference mode; the discriminators (BatchNorm in
            # their DownBlocks) run in training mode in both updates, as in the paper's code.
            features = self.feature_pyramid(images, training=False)
            outputs = self.discriminator([images, *features], training=training)
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

    def train_step(self, *args):
        if keras.backend.backend() == "jax":  # (state, data) -> (logs, new state)
            return stateless_step.train_step(self, *args)
        real = stateless_step.real_images(args[0])
        if self.projected:
            d_loss, g_loss = self._shared_step(real)
        else:
            d_loss, g_loss = self._alternating_step(real)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    def _alternating_step(self, real):
        """The DCGAN recipe: a discriminator update, then a generator update on new fakes."""
        import tensorflow as tf

        batch_size = ops.shape(real)[0]
        with tf.GradientTape() as tape:
            fake = self.generator(self.sample_latent(batch_size), training=True)
            d_loss = self._d_loss(self._logits(real, True), self._logits(fake, True))
        self._apply(self.d_optimizer, tape.gradient, d_loss, self.discriminator)
        with tf.GradientTape() as tape:
            fake = self.generator(self.sample_latent(batch_size), training=True)
            g_loss = self._g_loss(self._logits(fake, False))
        self._apply(self.g_optimizer, tape.gradient, g_loss, self.generator)
        return d_loss, g_loss

    def _shared_step(self, real):
        """Both updates from one pass over one batch of fakes (simultaneous updates): the
        frozen feature network's passes dominate a step, and this saves one of the three."""
        import tensorflow as tf

        with tf.GradientTape(persistent=True) as tape:
            fake = self.generator(self.sample_latent(ops.shape(real)[0]), training=True)
            fake_logits = self._logits(fake, True)
            d_loss = self._d_loss(self._logits(real, True), fake_logits)
            g_loss = self._g_loss(fake_logits)
        self._apply(self.d_optimizer, tape.gradient, d_loss, self.discriminator)
        self._apply(self.g_optimizer, tape.gradient, g_loss, self.generator)
        del tape
        return d_loss, g_loss

    @staticmethod
    def _apply(optimizer, gradient, loss, model):
        weights = model.trainable_weights
        optimizer.apply_gradients(zip(gradient(loss, weights), weights))

    def build(self, input_shape):
        self.generator.build(input_shape)
        if self.augmenter is not None:  # weightless: built, as JAX's fit() wants every layer
            self.augmenter.build(self.generator.output_shape)
        super().build(input_shape)

    def call(self, latent, training=False):
        return self.generator(latent, training=training)


def make_optimizers(learning_rate=2e-4, generator_rate=None):
    """Adam(β1 = 0.5, β2 = 0.999) for the discriminator and the generator, the usual GAN
    setting; the generator's rate is ``learning_rate`` unless ``generator_rate`` is given."""
    return (
        keras.optimizers.Adam(learning_rate, beta_1=0.5),
        keras.optimizers.Adam(generator_rate or learning_rate, beta_1=0.5),
    )
