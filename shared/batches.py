"""Batches of in-memory arrays for ``fit``/``predict`` on any Keras backend (no ``tf.data``).

``EpochBatches`` is a ``keras.utils.PyDataset`` whose training order is a function of
``(seed, epoch)`` alone, like ``shared.resumable.epoch_shuffled`` (a NumPy permutation instead
of TensorFlow's): the epoch is the one ``shared.resumable.reseed`` sets at each epoch start,
so a resumed run sees the same order per epoch. Without a seed the rows keep their order
(evaluation, feature extraction).

For data parallelism across processes each process reads its own equal part of every global
batch (``shard=(process_index, num_processes)``); every batch is cut to a multiple of
``multiple_of`` rows (the number of devices the batch is split over).
"""

import logging

import keras
import numpy as np

from shared import resumable
from shared.row_pipeline import row_batches
from shared.row_store import RowFile


def epoch_order(size, seed, epoch):
    """The permutation of ``range(size)`` that epoch ``epoch`` of a run seeded ``seed`` uses."""
    return np.random.default_rng([int(seed), int(epoch)]).permutation(size)


class EpochBatches(keras.utils.PyDataset):
    """``(inputs, labels)`` batches of ``arrays`` (a tuple of arrays of equal length).

    Args:
        arrays: e.g. ``(images, labels)``; rows are taken together.
        batch_size: rows per global batch.
        seed: None keeps the order; else each epoch is ordered by ``(seed, epoch)``.
        transform: optional ``inputs -> inputs`` applied per batch (preprocessing).
        shard: ``(index, count)``: this process' part of every global batch.
        multiple_of: global batches are cut to a multiple of this many rows (devices).
        drop_remainder: leave out a last global batch of fewer than ``batch_size`` rows (every
            batch then has the same shape).
    """

    def __init__(
        self,
        arrays,
        batch_size,
        *,
        seed=None,
        transform=None,
        shard=(0, 1),
        multiple_of=1,
        drop_remainder=False,
    ):
        super().__init__()
        self.arrays = tuple(  # rows on disk stay there: each batch reads its own
            array if isinstance(array, RowFile) else np.asarray(array) for array in arrays
        )
        self.size = len(self.arrays[0])
        self.batch_size = int(batch_size)
        self.seed = seed
        self.transforms = () if transform is None else (transform,)
        self.mapped = ()
        self.shard_index, self.shard_count = shard
        self.multiple_of = max(int(multiple_of), int(self.shard_count))
        self.drop_remainder = bool(drop_remainder)
        if self.batch_size < self.multiple_of:
            raise ValueError(
                f"batch size {self.batch_size} is smaller than the {self.multiple_of} "
                "devices it is split over"
            )
        self._bounds = self._batch_bounds()
        self._order, self._order_epoch = None, None

    def _batch_bounds(self):
        """``(start, stop)`` of every global batch, each a multiple of ``multiple_of`` rows."""
        bounds = []
        whole = self.size - self.size % self.batch_size if self.drop_remainder else self.size
        for start in range(0, whole, self.batch_size):
            rows = min(self.batch_size, self.size - start)
            rows -= rows % self.multiple_of
            if rows:
                bounds.append((start, start + rows))
        return bounds

    def map(self, function):
        """A copy whose batches go through ``function(*batch) -> batch`` after this one's
        transforms (like ``tf.data.Dataset.map``, e.g. augmentation)."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.mapped = self.mapped + (function,)
        return copy

    def whole(self):
        """A copy that reads every row of every global batch (no shard, no cut)."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.shard_index, copy.shard_count, copy.multiple_of = 0, 1, 1
        copy._bounds = copy._batch_bounds()
        return copy

    @property
    def num_batches(self):
        return len(self._bounds)

    def __len__(self):
        return len(self._bounds)

    def order(self):
        """Row indices of the current epoch (``resumable.data_epoch()``)."""
        if self.seed is None:
            return None
        epoch = resumable.data_epoch()
        if epoch != self._order_epoch:
            self._order, self._order_epoch = epoch_order(self.size, self.seed, epoch), epoch
        return self._order

    def rows(self, index):
        """The row indices of this process' part of global batch ``index``."""
        start, stop = self._bounds[index]
        order = self.order()
        rows = np.arange(start, stop) if order is None else order[start:stop]
        part = len(rows) // self.shard_count
        return rows[self.shard_index * part : (self.shard_index + 1) * part]

    def __getitem__(self, index):
        if not 0 <= index < len(self._bounds):
            raise IndexError(index)
        rows = self.rows(index)
        inputs, *rest = (array[rows] for array in self.arrays)
        for transform in self.transforms:
            inputs = transform(inputs)
        batch = (inputs, *rest)
        for function in self.mapped:
            batch = tuple(function(*batch))
        return tuple(np.asarray(keras.ops.convert_to_numpy(part)) for part in batch)

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]


def parallel_layout():
    """``(process index, process count, device count)`` of the Keras distribution in use;
    ``(0, 1, 1)`` without one."""
    if keras.distribution.distribution() is None:
        return 0, 1, 1
    import jax

    return jax.process_index(), jax.process_count(), jax.device_count()


def batches(arrays, batch_size, *, seed=None, transform=None, drop_remainder=False):
    """``EpochBatches`` of ``arrays``, ``batch_size`` rows per process: under a distribution
    of N processes each global batch has ``N * batch_size`` rows and this process reads its
    part of it (so each process takes 1/N of the steps of one alone); ordered by
    ``(seed, epoch)`` when a seed is given; without a last, smaller batch with
    ``drop_remainder``."""
    index, count, devices = parallel_layout()
    return EpochBatches(
        arrays,
        batch_size * count,
        seed=seed,
        transform=transform,
        shard=(index, count),
        multiple_of=devices,
        drop_remainder=drop_remainder,
    )


def predict_batches(model, dataset):
    """Yields ``(outputs, *others)`` for every whole global batch of ``dataset`` (an
    ``EpochBatches``), in order, on every process.

    Without a distribution this is ``model.predict_on_batch``. Under one, each batch is
    padded to a multiple of the devices, split between the processes, run on all devices,
    and gathered back whole on every process.
    """
    whole = dataset.whole()
    index, count, devices = parallel_layout()
    if count == 1 and devices == 1:
        for inputs, *others in whole:
            yield (np.asarray(model.predict_on_batch(inputs)), *others)
        return
    import jax
    from jax.experimental import multihost_utils

    distribution = keras.distribution.distribution()
    step = jax.jit(lambda variables, x: model.stateless_call(*variables, x, training=False)[0])
    variables = (
        [variable.value for variable in model.trainable_variables],
        [variable.value for variable in model.non_trainable_variables],
    )
    for inputs, *others in whole:
        inputs = np.asarray(inputs)
        rows = len(inputs)
        padding = -(-rows // devices) * devices - rows
        padded = np.concatenate([inputs, np.repeat(inputs[-1:], padding, axis=0)])
        part = len(padded) // count
        local = padded[index * part : (index + 1) * part]
        layout = distribution.get_data_layout(padded.shape).backend_layout
        outputs = step(variables, jax.make_array_from_process_local_data(layout, local))
        gathered = multihost_utils.process_allgather(outputs, tiled=True)
        yield (np.asarray(gathered)[:rows], *others)


def predict_all(model, inputs, batch_size, transform=None):
    """``model``'s outputs for every row of ``inputs``, in order, on every process."""
    dataset = EpochBatches((inputs,), batch_size, transform=transform)
    return np.concatenate([outputs for (outputs,) in predict_batches(model, dataset)])


def fit_batches(arrays, batch_size, *, seed=None):
    """Batches of ``arrays`` (in memory, or ``RowFile`` on disk) for ``fit``: on TensorFlow
    ``shared.row_pipeline.row_batches`` (ordered by ``(seed, epoch)`` with a seed, in order
    without), else ``batches`` (this process' part of each global batch)."""
    if keras.backend.backend() == "tensorflow":
        return row_batches(arrays, batch_size, seed=seed)
    return batches(arrays, batch_size, seed=seed)


def feature_batches(feature_extractor, dataset):
    """``(features, labels)`` per batch of ``dataset`` (``EpochBatches`` or ``tf.data``):
    every row, also when training is data-parallel."""
    if isinstance(dataset, EpochBatches):
        yield from predict_batches(feature_extractor, dataset)
        return
    for inputs, targets in dataset:
        yield feature_extractor.predict_on_batch(inputs), targets


def log_steps(train_set, unit="images"):
    """Log the training steps per epoch and the ``unit`` per step on this process of
    ``EpochBatches`` (what a data-parallel job splits); ``tf.data`` pipelines say nothing."""
    if isinstance(train_set, EpochBatches):
        logging.getLogger(__name__).info(
            "%d training steps per epoch, %d %s per step on this process",
            train_set.num_batches,
            len(train_set.rows(0)) if train_set.num_batches else 0,
            unit,
        )
