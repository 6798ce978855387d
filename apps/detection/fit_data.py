"""Training batches and held-out predictions of the detector fine-tunes, on any Keras backend.

CenterNet and YOLO differ only in how one sample becomes ``(input image, target)`` (their
``load(index, augment_seed)``); the batches around it are the same:

- on TensorFlow, a ``tf.data`` pipeline of sample indices mapped through
  ``tf.numpy_function`` (``indices_and_seeds``);
- elsewhere (JAX, PyTorch), ``shared.batches.batches`` of the sample indices mapped to arrays:
  each epoch ordered by (seed, epoch), each sample's augmentation seed derived from
  (seed, epoch, index), so a resumed run sees the data of an uninterrupted one; under a
  data-parallel distribution each process loads only its part of every global batch.

Predictions for the mAP go one image at a time on one device (as the Predictor sees them)
and through ``shared.batches.predict_batches`` under a distribution: each batch padded to the
devices, split between the processes and gathered back whole on every process, so every
process scores the same detections.
"""

import contextlib

import keras
import numpy as np

from shared import batches as batches_lib
from shared.resumable import data_epoch, derived_seed, epoch_variable

SEED_RANGE = 1 << 30  # augmentation seeds, as the tf.data pipeline draws them


def sample_batches(count, load, shapes, config, *, train, stop=None):
    """Batches of ``(images, targets)`` of ``count`` samples.

    Args:
        load: ``(index, augment_seed or None) -> (image, target)`` float32 arrays.
        shapes: ``(image shape, target shape)`` of one sample.
        config: the fine-tune config (``seed``, ``batch_size``, ``augment``).
        train: re-ordered and re-augmented each epoch; else in the samples' order, as is.
        stop: an ``input_pipelines()`` flag; once set, loading fails at once.
    """
    augmenting = train and config.augment

    def checked_load(index, seed):
        if stop is not None and stop.is_set():
            raise RuntimeError("the input pipeline is closed")
        return load(int(index), int(seed) if augmenting else None)

    if keras.backend.backend() == "tensorflow":
        return _tf_batches(count, checked_load, shapes, config, train)
    augment_seed = derived_seed(config.seed, 1)

    def load_batch(indices):
        epoch = data_epoch()  # the epoch being trained (``shared.resumable.reseed``)
        with without_distribution():
            pairs = [
                checked_load(index, derived_seed(augment_seed, epoch, index) % SEED_RANGE)
                for index in indices
            ]
        return np.stack([image for image, _ in pairs]), np.stack([target for _, target in pairs])

    indices = np.arange(count)
    seed = config.seed if train else None
    return batches_lib.batches((indices,), config.batch_size, seed=seed).map(load_batch)


@contextlib.contextmanager
def without_distribution():
    """Run this process' own work (per-sample augmentation) outside the data-parallel
    distribution: the variables of the Keras layers it builds (random layers' seeds) stay
    on this process instead of becoming global arrays every process must agree on."""
    distribution = keras.distribution.distribution()
    if distribution is None:
        yield
        return
    keras.distribution.set_distribution(None)  # per thread: only this loader's
    try:
        yield
    finally:
        keras.distribution.set_distribution(distribution)


def _tf_batches(count, load, shapes, config, train):
    import tensorflow as tf

    image_shape, target_shape = shapes

    def load_tensors(index, seed):
        image, target = tf.numpy_function(load, [index, seed], (tf.float32, tf.float32))
        image.set_shape(image_shape)
        target.set_shape(target_shape)
        return image, target

    dataset = indices_and_seeds(count, config.seed, train).map(load_tensors)
    return dataset.batch(config.batch_size).prefetch(2)


def indices_and_seeds(count, seed, train):
    """(sample index, augmentation seed) pairs: for training, in an order and with seeds set
    by (seed, epoch) alone (``epoch_variable``, read as each epoch's iteration starts), so a
    resumed run sees each epoch's data as an uninterrupted one; else in the samples' order."""
    import tensorflow as tf

    if not train:
        return tf.data.Dataset.range(count).map(lambda index: (index, tf.constant(0, tf.int64)))
    epoch, augment_seed = epoch_variable(), derived_seed(seed, 1)

    def epoch_pairs(_):
        def key(value):
            return tf.stack([tf.constant(value, tf.int64), epoch.read_value()])

        order = tf.random.experimental.stateless_shuffle(tf.range(count, dtype=tf.int64), key(seed))
        seeds = tf.random.stateless_uniform(
            [count], key(augment_seed), maxval=SEED_RANGE, dtype=tf.int64
        )
        return tf.data.Dataset.from_tensor_slices((order, seeds))

    pairs = tf.data.Dataset.from_tensors(0).flat_map(epoch_pairs)
    return pairs.apply(tf.data.experimental.assert_cardinality(count))


def predict_each(model, samples, prepare, batch_size):
    """Yields ``(output, info)`` of each sample, in order, on every process.

    Args:
        model: one input, one output.
        prepare: ``sample -> (input image, info)``; ``info`` a float array of what turning
            the output back into boxes needs (the image size, a letterbox's scale ...).
        batch_size: images per global batch under a data-parallel distribution (else 1).
    """
    _, processes, devices = batches_lib.parallel_layout()
    size = batch_size if processes * devices > 1 else 1

    def load_batch(indices):
        with without_distribution():
            pairs = [prepare(samples[int(index)]) for index in indices]
        inputs = np.stack([image for image, _ in pairs])
        return inputs, np.stack([np.asarray(info, "float64") for _, info in pairs])

    dataset = batches_lib.EpochBatches((np.arange(len(samples)),), size).map(load_batch)
    for outputs, infos in batches_lib.predict_batches(model, dataset):
        yield from zip(outputs, infos)
