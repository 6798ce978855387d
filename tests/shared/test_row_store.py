"""Rows on disk read as indexed: numpy's read semantics, lazy subsets, flat memory."""

import numpy as np
import pytest

from shared.row_store import RowFile, RowWriter, take_rows

ROWS = np.random.default_rng(0).integers(0, 256, (50, 4, 3, 3), dtype=np.uint8)


@pytest.fixture
def rows():
    return RowFile.write(ROWS)


def test_reads_follow_numpy_indexing(rows):
    assert rows.shape == ROWS.shape and rows.dtype == ROWS.dtype and len(rows) == 50
    np.testing.assert_array_equal(rows[7], ROWS[7])
    np.testing.assert_array_equal(rows[-1], ROWS[-1])
    np.testing.assert_array_equal(rows[3:20:2], ROWS[3:20:2])
    unsorted = np.array([9, 2, 2, 40, 3, 4, 5, 0])
    np.testing.assert_array_equal(rows[unsorted], ROWS[unsorted])
    mask = np.arange(50) % 3 == 0
    np.testing.assert_array_equal(rows[mask], ROWS[mask])
    np.testing.assert_array_equal(np.asarray(rows), ROWS)
    assert rows[np.array([], int)].shape == (0, 4, 3, 3)


def test_take_is_a_lazy_view_that_composes(rows):
    split = rows.take(np.array([10, 20, 30, 40]))
    assert split.shape == (4, 4, 3, 3)
    np.testing.assert_array_equal(split[[3, 0]], ROWS[[40, 10]])
    np.testing.assert_array_equal(split.take([1, 2])[:], ROWS[[20, 30]])
    np.testing.assert_array_equal(take_rows(ROWS, [1, 2]), ROWS[[1, 2]])
    assert isinstance(take_rows(rows, [1, 2]), RowFile)


def test_other_dtypes_and_a_row_of_another_shape_is_refused():
    features = np.random.default_rng(1).standard_normal((6, 5)).astype("float32")
    np.testing.assert_array_equal(RowFile.write(features)[[5, 1]], features[[5, 1]])
    writer = RowWriter()
    writer.append(np.zeros((2, 2), "float32"))
    with pytest.raises(ValueError, match=r"row 1 has shape \(3,\)"):
        writer.append(np.zeros(3, "float32"))
    with pytest.raises(ValueError, match="no rows"):
        RowWriter().finish()


def _resident_mb():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_reading_every_row_keeps_the_process_flat():
    block = np.full((256, 1024), 7, np.uint8)  # 256 KB
    rows = RowFile.write(block for _ in range(800))  # 200 MB on disk
    before = _resident_mb()
    for _ in range(2):
        for start in range(0, len(rows), 16):
            assert rows[start : start + 16][0, 0, 0] == 7
    assert _resident_mb() - before < 40  # a np.memmap would have grown by ~200 MB
