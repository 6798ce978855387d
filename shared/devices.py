"""Same code on CPU and GPU: mixed precision, XLA and data parallelism where they help.

Several GPUs train data-parallel on JAX (Keras' ``DataParallel``, as ``shared.parallel`` sets
up across processes). On TensorFlow training stays on one GPU: ``tf.distribute``'s
``MirroredStrategy`` fails on the apps' NumPy-fed input pipelines (measured on two logical
devices), so a log line points to JAX instead.
"""

import logging
from dataclasses import dataclass

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceSetup:
    """What ``configure`` chose.

    Attributes:
        num_gpus: GPUs visible to the backend.
        mixed_precision: whether the global dtype policy is ``mixed_float16``.
        jit_compile: whether ``compile()`` should use XLA (on GPU, and on JAX; on CPU
            TensorFlow's XLA was measured 7-10x slower for these models).
    """

    num_gpus: int
    mixed_precision: bool
    jit_compile: bool

    def describe(self):
        """One line for logs and run metadata."""
        if not self.num_gpus:
            return f"CPU (float32, {'XLA' if self.jit_compile else 'no XLA'})"
        import keras

        precision = "mixed_float16" if self.mixed_precision else "float32"
        gpus = f"{self.num_gpus} GPU(s)"
        if self.num_gpus > 1 and keras.backend.backend() != "jax":
            gpus = f"1 of {self.num_gpus} GPUs"
        return f"{gpus} ({precision}, XLA {'on' if self.jit_compile else 'off'})"


def _count_gpus():
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return sum(device.platform == "gpu" for device in jax.devices())
    if backend == "torch":
        import torch

        return torch.cuda.device_count()
    return 0


def configure(*, allow_gpu=True, mixed_precision=True):
    """Pick precision, XLA and distribution for the visible devices; call before building.

    Args:
        allow_gpu: False forces the CPU choices even when a GPU is present.
        mixed_precision: use ``mixed_float16`` on GPU.

    Returns:
        A ``DeviceSetup``.
    """
    import keras

    num_gpus = _count_gpus() if allow_gpu else 0
    use_mixed = bool(num_gpus and mixed_precision)
    keras.mixed_precision.set_global_policy("mixed_float16" if use_mixed else "float32")
    if num_gpus > 1:
        if keras.backend.backend() != "jax":
            _LOG.warning(
                "training uses one of the %d GPUs on %s; KERAS_BACKEND=jax trains "
                "data-parallel on all of them",
                num_gpus,
                keras.backend.backend(),
            )
        elif keras.distribution.distribution() is None:  # else ``shared.parallel`` set one
            keras.distribution.set_distribution(keras.distribution.DataParallel())
    # XLA on GPU; on CPU only on JAX, whose steps without it run op by op (on TensorFlow's
    # CPU XLA measured 7-10x slower than its graphs).
    jit = bool(num_gpus) or keras.backend.backend() == "jax"
    return DeviceSetup(num_gpus, use_mixed, jit_compile=jit)


def compile_step(function, *, reduce_retracing=False):
    """Trace a decoding step ``function`` into a graph once per input shape (TensorFlow,
    ``tf.function``; JAX, ``jax.jit``), else return it to run eagerly.

    ``reduce_retracing`` lets TensorFlow generalise shapes after a few traces (for inputs
    whose lengths vary call to call, like batches of sentences).
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(function, reduce_retracing=reduce_retracing)
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(function)
    return function
