"""``tf.data`` batches of rows read by index: from in-memory arrays or from files on disk.

``row_batches`` orders row indices (in order, or per epoch by ``(seed, epoch)`` exactly as
``shared.resumable.epoch_shuffled`` orders rows), batches the indices and reads each batch's
rows with one call: for a ``shared.row_store.RowFile`` those rows alone come from the disk, so
a dataset of any size streams through training with the memory of a few batches.
"""

import numpy as np

from shared import resumable


def row_batches(arrays, batch_size, *, seed=None):
    """A ``tf.data`` of batches of the rows of ``arrays`` (a tuple of arrays or ``RowFile``
    of equal length), read per batch; ordered by ``(seed, epoch)`` when ``seed`` is given."""
    import tensorflow as tf

    size = len(arrays[0])
    if seed is None:
        indices = tf.data.Dataset.range(size)
    else:
        indices = resumable.epoch_indices(size, seed)
    dtypes = [tf.as_dtype(np.dtype(array.dtype)) for array in arrays]

    def read(batch):
        order = np.asarray(batch)
        return tuple(np.asarray(array[order]) for array in arrays)

    def read_batch(batch):
        parts = tf.numpy_function(read, [batch], dtypes, stateful=False)
        for part, array in zip(parts, arrays):
            part.set_shape((None, *array.shape[1:]))
        return tuple(parts)

    batches = indices.batch(batch_size).map(read_batch, num_parallel_calls=tf.data.AUTOTUNE)
    return batches.prefetch(tf.data.AUTOTUNE)
