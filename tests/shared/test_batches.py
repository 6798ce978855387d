"""Backend-agnostic training batches: the order of an epoch is a function of (seed, epoch)."""

import numpy as np
import pytest

from shared import resumable
from shared.batches import EpochBatches, epoch_order


@pytest.fixture(autouse=True)
def epoch_zero():
    resumable.set_data_epoch(0)
    yield
    resumable.set_data_epoch(0)


def _epoch(dataset, epoch):
    resumable.set_data_epoch(epoch)
    return np.concatenate([labels for _, labels in dataset])


def test_each_epoch_sees_every_row_once_in_an_order_set_by_seed_and_epoch():
    rows = np.arange(10)
    dataset = EpochBatches((rows[:, None].astype("float32"), rows), 4, seed=7)
    assert [len(labels) for _, labels in dataset] == [4, 4, 2]
    first, second = _epoch(dataset, 0), _epoch(dataset, 1)
    assert sorted(first) == sorted(second) == list(rows)
    assert list(first) != list(second)
    # A new pipeline (a resumed process) at the same epoch reads the same order.
    resumed = EpochBatches((rows[:, None].astype("float32"), rows), 4, seed=7)
    assert list(_epoch(resumed, 1)) == list(second) == list(epoch_order(10, 7, 1))
    assert list(_epoch(EpochBatches((rows, rows), 4), 3)) == list(rows)  # no seed: as stored


def test_processes_read_equal_parts_of_each_global_batch():
    rows = np.arange(11)
    parts = [
        EpochBatches((rows, rows), 8, seed=1, shard=(index, 2), multiple_of=2) for index in range(2)
    ]
    assert len(parts[0]) == len(parts[1]) == 2  # 8 rows, then the last 3 cut to 2
    for index in range(2):
        ours, theirs = parts[0][index][1], parts[1][index][1]
        assert len(ours) == len(theirs)
        assert not set(ours) & set(theirs)
    assert parts[0].whole().num_batches == 2 and len(parts[0].whole()[1][1]) == 3


def test_transform_then_map_apply_to_every_batch():
    rows = np.arange(6)
    dataset = EpochBatches((rows * 1.0, rows), 3, transform=lambda x: x + 100).map(
        lambda x, y: (x * 2, y)
    )
    inputs, labels = dataset[1]
    assert list(inputs) == [206, 208, 210] and list(labels) == [3, 4, 5]


def test_a_batch_smaller_than_the_devices_is_an_error():
    with pytest.raises(ValueError, match="smaller than the 4 devices"):
        EpochBatches((np.arange(8),), 2, multiple_of=4)


def test_drop_remainder_leaves_out_the_last_smaller_batch():
    rows = np.arange(10)
    dataset = EpochBatches((rows, rows), 4, seed=2, drop_remainder=True)
    assert [len(labels) for _, labels in dataset] == [4, 4]
    assert list(_epoch(dataset, 1)) == list(epoch_order(10, 2, 1)[:8])
