"""Tests for apps.image_classify.data: folders, unreadable files, splits, TFDS, tf.data."""

import logging

import numpy as np
import pytest

from apps.image_classify import data as data_lib
from shared.resumable import set_data_epoch
from shared.row_store import RowFile


@pytest.fixture
def shapes_folder(tmp_path):
    """20 images per class of the synthetic shapes, as a class-per-folder PNG dataset."""
    return data_lib.write_image_folder(data_lib.synthetic_shapes(20, 16), tmp_path / "shapes")


@pytest.fixture
def shapes_rows(tmp_path):
    """4 images per class of the synthetic shapes, loaded from a folder (rows on disk)."""
    folder = data_lib.write_image_folder(data_lib.synthetic_shapes(4, 8), tmp_path / "rows")
    return data_lib.load_folder(folder, 8)


def test_synthetic_shapes_and_image_folder_round_trip(shapes_folder):
    data = data_lib.load_folder(shapes_folder, 16)
    original = data_lib.synthetic_shapes(20, 16)
    assert data.class_names == ["circle", "square", "stripes"]  # sorted folder names
    assert data.images.shape == (60, 16, 16, 3) and data.images.dtype == np.uint8
    assert isinstance(data.images, RowFile)  # decoded onto disk, not into memory
    assert np.bincount(data.labels).tolist() == [20, 20, 20]
    assert data.skipped == ()
    square = data.class_names.index("square")
    np.testing.assert_array_equal(data.images[data.labels == square], original.images[:20])


def test_scan_folder_rejects_a_file(tmp_path):
    path = tmp_path / "images.zip"
    path.write_bytes(b"not a folder")
    with pytest.raises(ValueError, match="not a directory"):
        data_lib.scan_folder(path)
    with pytest.raises(ValueError, match="not a directory"):
        data_lib.scan_folder(tmp_path / "missing")


def test_scan_folder_needs_two_classes(tmp_path):
    (tmp_path / "cats").mkdir()
    data_lib.write_image_folder(data_lib.synthetic_shapes(1, 8), tmp_path / "other")
    (tmp_path / "other" / "square" / "00000.png").rename(tmp_path / "cats" / "a.png")
    (tmp_path / "notes.txt").write_text("files beside the class folders are ignored")
    one_class = tmp_path / "one"
    one_class.mkdir()
    (tmp_path / "cats").rename(one_class / "cats")
    with pytest.raises(ValueError, match=r"at least 2 class sub-folders, found 1 \['cats'\]"):
        data_lib.scan_folder(one_class)
    with pytest.raises(ValueError, match=r"found 0 \[\]"):
        data_lib.scan_folder(one_class / "cats")


def test_scan_folder_lists_empty_classes(shapes_folder):
    (shapes_folder / "triangle").mkdir()
    (shapes_folder / "hexagon").mkdir()
    (shapes_folder / "hexagon" / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match=r"no images .*\['hexagon', 'triangle'\]"):
        data_lib.scan_folder(shapes_folder)


def test_scan_folder_labels_and_cap(shapes_folder):
    items, class_names = data_lib.scan_folder(shapes_folder, max_per_class=3)
    assert class_names == ["circle", "square", "stripes"]
    assert [label for _, label in items] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert all(path.parent.name == class_names[label] for path, label in items)


def test_one_unreadable_image_is_skipped_with_a_warning(shapes_folder, caplog):
    bad = shapes_folder / "circle" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with caplog.at_level(logging.WARNING, logger=data_lib.__name__):
        data = data_lib.load_folder(shapes_folder, 16)
    assert len(data.labels) == 60 and len(data.images) == 60
    assert [path for path, _ in data.skipped] == [str(bad)]
    assert "broken.png" in caplog.text and "skipping" in caplog.text


def test_mostly_unreadable_images_are_an_error_listing_them(tmp_path):
    root = tmp_path / "dataset"
    for name in ("cats", "dogs"):
        (root / name).mkdir(parents=True)
        for index in range(3):
            (root / name / f"{name}{index}.jpg").write_bytes(b"garbage")
    data_lib.write_image_folder(data_lib.synthetic_shapes(1, 16), tmp_path / "good")
    (tmp_path / "good" / "square" / "00000.png").rename(root / "cats" / "fine.png")
    with pytest.raises(ValueError, match="6 of 7 images are unreadable") as error:
        data_lib.load_folder(root, 16)
    message = str(error.value)
    assert all(f"{name}{index}.jpg" in message for name in ("cats", "dogs") for index in range(3))
    assert "fine.png" not in message


def _mock_tfds_dir(tfds, name, data_dir, num_examples):
    """Write the real metadata of ``name`` with a train split of ``num_examples``, so that
    ``tfds.testing.mock_data`` knows the split sizes (it works offline)."""
    builder = tfds.builder(name, data_dir=str(data_dir))
    split = tfds.core.SplitInfo(name="train", shard_lengths=[num_examples], num_bytes=0)
    builder.info.set_splits(tfds.core.SplitDict([split]))
    builder.data_path.mkdir(parents=True)
    builder.info.write_to_directory(builder.data_dir)


@pytest.mark.parametrize(
    ("name", "class_names"),
    [
        ("beans", ["angular_leaf_spot", "bean_rust", "healthy"]),
        ("mnist", [str(digit) for digit in range(10)]),  # grayscale: becomes RGB
    ],
)
def test_load_tfds_with_mock_data(tmp_path, name, class_names):
    tfds = pytest.importorskip("tensorflow_datasets")
    _mock_tfds_dir(tfds, name, tmp_path, 12)
    policy = tfds.testing.MockPolicy.USE_FILES
    with tfds.testing.mock_data(num_examples=12, data_dir=str(tmp_path), policy=policy):
        data = data_lib.load_source(f"tfds:{name}", 24)
        capped = data_lib.load_tfds(name, 24, max_per_class=1)
    assert data.class_names == class_names
    assert data.images.shape == (12, 24, 24, 3) and data.images.dtype == np.uint8
    assert data.labels.shape == (12,) and data.labels.max() < len(class_names)
    assert np.asarray(data.images).std() > 0
    if name == "mnist":
        images = np.asarray(data.images)
        np.testing.assert_array_equal(images[..., 0], images[..., 2])
    assert np.bincount(capped.labels).max() == 1
    assert len(capped.labels) == len(np.unique(data.labels))


def test_to_dataset_yields_preprocessed_float_batches():
    data = data_lib.synthetic_shapes(3, 8)
    dataset = data_lib.to_dataset(data.images, data.labels, 4, lambda x: x / 255.0 - 0.5)
    batches = [(np.asarray(x), np.asarray(y)) for x, y in dataset]
    assert [len(y) for _, y in batches] == [4, 4, 1]
    images = np.concatenate([x for x, _ in batches])
    assert images.dtype == np.float32 and images.shape == (9, 8, 8, 3)
    np.testing.assert_allclose(images, data.images / 255.0 - 0.5, atol=1e-6)
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), data.labels)


def test_to_dataset_reads_rows_from_disk_in_an_order_set_by_seed_and_epoch(shapes_rows):
    data = shapes_rows
    assert isinstance(data.images, RowFile)
    orders = []
    for epoch in (0, 1, 0):
        set_data_epoch(epoch)
        dataset = data_lib.to_dataset(data.images, data.labels, 5, lambda x: x, seed=1)
        pairs = [(np.asarray(x), np.asarray(y)) for x, y in dataset]
        images = np.concatenate([x for x, _ in pairs]).astype("uint8")
        labels = np.concatenate([y for _, y in pairs])
        for image, label in zip(images, labels):  # each image keeps its label
            match = np.flatnonzero((np.asarray(data.images) == image).all(axis=(1, 2, 3)))
            assert data.labels[match].tolist() == [label]
        orders.append(labels.tolist())
    set_data_epoch(0)
    assert orders[0] == orders[2] and sorted(orders[0]) == sorted(data.labels.tolist())
    assert orders[0] != orders[1] and orders[0] != data.labels.tolist()


def test_a_dataset_the_disk_cannot_hold_is_refused_before_decoding(shapes_folder, monkeypatch):
    usage = data_lib.shutil.disk_usage(data_lib.tempfile.gettempdir())
    monkeypatch.setattr(
        data_lib.shutil, "disk_usage", lambda path: usage._replace(free=60 * 16 * 16 * 3)
    )
    with pytest.raises(ValueError, match=r"60 images at 16x16 need .* GB in .*free; use"):
        data_lib.load_folder(shapes_folder, 16)
