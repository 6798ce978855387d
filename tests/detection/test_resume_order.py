"""A resumed detector fine-tune sees, epoch by epoch, the data an uninterrupted one sees."""

import numpy as np

from apps.detection import centernet_fit as train_lib
from apps.detection import scenes
from apps.detection.config import FinetuneConfig
from shared.resumable import epoch_variable


def _epoch_batches(dataset, epoch):
    """The batches ``dataset`` gives at ``epoch``, as the training loop sets it."""
    epoch_variable().assign(epoch)
    return [np.asarray(images) for images, _ in dataset]


def test_a_resumed_run_sees_the_batches_of_an_uninterrupted_one():
    samples = scenes.make_scenes(6, image_size=64, seed=2).samples
    config = FinetuneConfig.tiny(data="scenes", batch_size=2)

    def make():
        return train_lib.make_dataset(samples, 3, config, 1 / 127.5, -1.0, train=True)

    uninterrupted = make()
    epochs = [_epoch_batches(uninterrupted, epoch) for epoch in range(3)]
    resumed = _epoch_batches(make(), 2)  # a new process starts at epoch 2

    np.testing.assert_array_equal(np.stack(resumed), np.stack(epochs[2]))
    # Each epoch still draws a new order and new augmentations.
    assert not np.array_equal(np.stack(epochs[1]), np.stack(epochs[2]))


def test_validation_batches_keep_the_samples_order_unaugmented():
    samples = scenes.make_scenes(4, image_size=64, seed=3).samples
    config = FinetuneConfig.tiny(data="scenes", batch_size=2)
    dataset = train_lib.make_dataset(samples, 3, config, 1 / 127.5, -1.0, train=False)
    expected = [train_lib.sample_arrays(sample, 64, 1 / 127.5, -1.0)[0] for sample in samples]
    for epoch in (0, 3):
        np.testing.assert_array_equal(np.concatenate(_epoch_batches(dataset, epoch)), expected)
