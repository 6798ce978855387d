"""The GAN's training step on JAX: the same updates as the TensorFlow one, as a pure function.

JAX's ``fit`` passes the model's state into ``train_step`` and takes the new state back: the
trainable and non-trainable weights, ``model.optimizer.variables`` and the metrics' variables.
``JointOptimizer`` makes the discriminator's and the generator's optimizers that one optimizer,
so ``fit`` carries both from step to step and writes them back at each epoch's end (before the
per-epoch backup saves them). The losses, the latents (a seed generator's state is a
non-trainable weight) and DiffAugment run unchanged inside a ``keras.StatelessScope``.
"""

import keras


class JointOptimizer(keras.optimizers.Optimizer):
    """The discriminator's and the generator's optimizers as one: its ``variables`` are
    theirs, in that order. It applies nothing itself, and saves nothing either: each part is
    an attribute of the GAN, which saves and loads it."""

    def __init__(self, optimizers, name="gan_optimizers"):
        super().__init__(learning_rate=0.0, name=name)
        self.parts = tuple(optimizers)

    @property
    def variables(self):
        return [variable for part in self.parts for variable in part.variables]

    def save_own_variables(self, store):
        pass

    def load_own_variables(self, store):
        pass


def real_images(data):
    """The images of a batch: a tensor (``tf.data``), or a 1-tuple (``shared.batches``)."""
    return data[0] if isinstance(data, (tuple, list)) else data


def train_step(gan, state, data):
    """One step of ``gan`` on the real batch ``data``: ``(logs, new state)``, the DCGAN's
    alternating updates (the generator's on new fakes through the updated discriminator) or
    the Projected GAN's simultaneous ones from one shared pass."""
    trainable, non_trainable, optimizer_values, metric_values = state
    real = real_images(data)
    step = _Step(gan, real)
    split = len(gan.d_optimizer.variables)
    d_state, g_state = list(optimizer_values[:split]), list(optimizer_values[split:])
    if gan.projected:
        trainable, non_trainable, d_state, g_state, losses = step.shared(
            list(trainable), list(non_trainable), d_state, g_state
        )
    else:
        trainable, non_trainable, d_state, g_state, losses = step.alternating(
            list(trainable), list(non_trainable), d_state, g_state
        )
    metric_values, logs, start = list(metric_values), {}, 0
    for tracker, loss in zip((gan.d_loss_tracker, gan.g_loss_tracker), losses):
        stop = start + len(tracker.variables)
        metric_values[start:stop] = tracker.stateless_update_state(metric_values[start:stop], loss)
        logs[tracker.name] = tracker.stateless_result(metric_values[start:stop])
        start = stop
    return logs, (trainable, non_trainable, d_state + g_state, metric_values)


class _Step:
    """The passes of one training step, over values rather than variables."""

    def __init__(self, gan, real):
        self.gan, self.real = gan, real
        self.batch_size = keras.ops.shape(real)[0]
        position = {id(variable): index for index, variable in enumerate(gan.trainable_variables)}
        # In the order each optimizer was built with.
        self.d_index = [position[id(v)] for v in gan.discriminator.trainable_variables]
        self.g_index = [position[id(v)] for v in gan.generator.trainable_variables]

    def _run(self, trainable, non_trainable, forward):
        """``forward()`` with the GAN's weights set to these values; returns its outputs and
        the non-trainable values after it (BatchNorm statistics, seed generators)."""
        gan = self.gan
        mapping = [*zip(gan.trainable_variables, trainable)]
        mapping += zip(gan.non_trainable_variables, non_trainable)
        with keras.StatelessScope(state_mapping=mapping) as scope:
            outputs = forward()
        return outputs, [scope.get_current_value(v) for v in gan.non_trainable_variables]

    def _fakes(self):
        gan = self.gan
        return gan.generator(gan.sample_latent(self.batch_size), training=True)

    def _d_forward(self):
        gan = self.gan
        fake = self._fakes()
        return gan._d_loss(gan._logits(self.real, True), gan._logits(fake, True))

    def _g_forward(self):
        return self.gan._g_loss(self.gan._logits(self._fakes(), False))

    def _shared_forward(self):
        gan = self.gan
        fake_logits = gan._logits(self._fakes(), True)
        return gan._d_loss(gan._logits(self.real, True), fake_logits), gan._g_loss(fake_logits)

    @staticmethod
    def _with(values, index, subset):
        values = list(values)
        for position, value in zip(index, subset):
            values[position] = value
        return values

    def _update(self, optimizer, trainable, index, grads, state):
        subset, state = optimizer.stateless_apply(state, grads, [trainable[i] for i in index])
        return self._with(trainable, index, subset), state

    def _gradients(self, trainable, non_trainable, index, forward):
        """``forward()``'s loss, the non-trainable values after it, and its gradients with
        respect to the trainable weights at ``index``."""
        import jax

        def loss(subset):
            return self._run(self._with(trainable, index, subset), non_trainable, forward)

        (value, non_trainable), grads = jax.value_and_grad(loss, has_aux=True)(
            [trainable[i] for i in index]
        )
        return value, non_trainable, grads

    def alternating(self, trainable, non_trainable, d_state, g_state):
        """A discriminator update, then a generator update on new fakes."""
        gan = self.gan
        d_loss, non_trainable, grads = self._gradients(
            trainable, non_trainable, self.d_index, self._d_forward
        )
        trainable, d_state = self._update(gan.d_optimizer, trainable, self.d_index, grads, d_state)
        g_loss, non_trainable, grads = self._gradients(
            trainable, non_trainable, self.g_index, self._g_forward
        )
        trainable, g_state = self._update(gan.g_optimizer, trainable, self.g_index, grads, g_state)
        return trainable, non_trainable, d_state, g_state, (d_loss, g_loss)

    def shared(self, trainable, non_trainable, d_state, g_state):
        """Both updates from one pass over one batch of fakes."""
        import jax
        import jax.numpy as jnp

        def losses(d_subset, g_subset):
            values = self._with(trainable, self.d_index, d_subset)
            values = self._with(values, self.g_index, g_subset)
            return self._run(values, non_trainable, self._shared_forward)

        (d_loss, g_loss), backward, non_trainable = jax.vjp(
            losses,
            [trainable[i] for i in self.d_index],
            [trainable[i] for i in self.g_index],
            has_aux=True,
        )
        d_grads = backward((jnp.ones_like(d_loss), jnp.zeros_like(g_loss)))[0]
        g_grads = backward((jnp.zeros_like(d_loss), jnp.ones_like(g_loss)))[1]
        trainable, d_state = self._update(
            self.gan.d_optimizer, trainable, self.d_index, d_grads, d_state
        )
        trainable, g_state = self._update(
            self.gan.g_optimizer, trainable, self.g_index, g_grads, g_state
        )
        return trainable, non_trainable, d_state, g_state, (d_loss, g_loss)
