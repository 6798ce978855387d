"""Tests for apps.detection.data and .scenes: readers, round trips, checks, augmentation."""

import json
import logging

import numpy as np
import pytest
from PIL import Image

from apps.detection import checks, formats, scenes
from apps.detection import data as data_lib
from apps.detection.augment import augment, resize_with_boxes
from shared import fashion_mnist


@pytest.fixture(scope="module")
def scene_data():
    data = scenes.make_scenes(6, image_size=64, max_objects=4, seed=3)
    assert {int(label) for sample in data.samples for label in sample.labels} == {0, 1, 2}
    return data


def _write_png(path, height=40, width=60):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((height, width, 3), 90, np.uint8)).save(path)
    return path


def _voc_xml(path, filename, objects, size=(40, 60)):
    """A VOC file; ``objects`` are ``(name, xmin, ymin, xmax, ymax)`` in VOC's 1-based pixels."""
    body = "".join(
        f"<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>{x1}</xmin>"
        f"<ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
        for name, x1, y1, x2, y2 in objects
    )
    size_xml = f"<size><width>{size[1]}</width><height>{size[0]}</height></size>"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<annotation><filename>{filename}</filename>{size_xml}{body}</annotation>")


def test_scenes_have_exact_boxes_and_no_problems(scene_data):
    assert scene_data.class_names == ["circle", "square", "triangle"]
    assert checks.validate(scene_data) == []
    for sample in scene_data.samples:
        assert sample.image.shape == (64, 64, 3) and sample.image.dtype == np.uint8
        assert sample.boxes.dtype == np.float32 and sample.labels.dtype == np.int32
        assert 1 <= len(sample.labels) <= 4
        square = sample.labels == 1
        for x1, y1, x2, y2 in sample.boxes[square].astype(int):  # a filled square fills its box
            assert (sample.image[y1:y2, x1:x2] == sample.image[y1, x1]).all()
    again = scenes.make_scenes(6, image_size=64, max_objects=4, seed=3)
    np.testing.assert_array_equal(again.samples[2].image, scene_data.samples[2].image)


def test_scenes_with_fashion_items():
    if not fashion_mnist.is_installed():
        pytest.skip("Fashion-MNIST idx files are not installed")
    data = scenes.make_scenes(3, image_size=64, seed=1, classes=("circle", "bag", "sneaker"))
    assert data.class_names == ["circle", "bag", "sneaker"] and checks.validate(data) == []


def test_make_scenes_rejects_unknown_classes():
    with pytest.raises(ValueError, match=r"unknown scene classes \['hexagon'\]"):
        scenes.make_scenes(1, classes=("circle", "hexagon"))


@pytest.mark.parametrize("layout", ["voc", "coco", "yolo"])
def test_round_trip_through_each_format(scene_data, tmp_path, layout):
    if layout == "voc":
        source = scenes.write_voc(scene_data, tmp_path / "voc")
    elif layout == "coco":
        source = scenes.write_coco(scene_data, tmp_path / "coco" / "train.json", tmp_path / "coco")
    else:
        source = scenes.write_yolo(scene_data, tmp_path / "yolo")
    read = formats.load_detection_source(source)
    assert read.class_names == scene_data.class_names and read.problems == []
    assert checks.validate(read) == []
    assert len(read.samples) == len(scene_data.samples)
    for original, sample in zip(scene_data.samples, read.samples):
        np.testing.assert_array_equal(data_lib.load_image(sample), original.image)
        np.testing.assert_allclose(sample.boxes, original.boxes, atol=1)
        np.testing.assert_array_equal(sample.labels, original.labels)


def test_coco_remaps_category_ids_and_finds_images_elsewhere(tmp_path):
    _write_png(tmp_path / "pictures" / "a.png")
    coco = {
        "images": [{"id": 7, "file_name": "a.png", "height": 40, "width": 60}],
        "categories": [{"id": 90, "name": "zebra"}, {"id": 3, "name": "car"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 90, "bbox": [10, 5, 20, 30]},
            {"id": 2, "image_id": 7, "category_id": 3, "bbox": [0, 0, 60, 40]},
            {"id": 3, "image_id": 7, "category_id": 3, "bbox": [0, 0, 9, 9], "iscrowd": 1},
        ],
    }
    (tmp_path / "instances.json").write_text(json.dumps(coco))
    data = formats.read_coco(tmp_path / "instances.json", images_dir=tmp_path / "pictures")
    assert data.class_names == ["car", "zebra"]
    np.testing.assert_array_equal(data.samples[0].boxes, [[10, 5, 30, 35], [0, 0, 60, 40]])
    assert data.samples[0].labels.tolist() == [1, 0]
    assert checks.validate(data) == []


def test_yolo_names_from_data_yaml_and_a_background_image(tmp_path):
    _write_png(tmp_path / "images" / "train" / "a.png")
    _write_png(tmp_path / "images" / "train" / "empty.png")
    (tmp_path / "labels" / "train").mkdir(parents=True)
    (tmp_path / "labels" / "train" / "a.txt").write_text("1 0.5 0.5 0.5 0.25\n\n")
    (tmp_path / "data.yaml").write_text("names:\n  0: cat\n  1: dog\n")
    data = formats.load_detection_source(tmp_path)
    assert data.class_names == ["cat", "dog"] and data.problems == []
    np.testing.assert_allclose(data.samples[0].boxes, [[15, 15, 45, 25]])
    assert data.samples[1].boxes.shape == (0, 4)


def _broken_voc(folder):
    """Five VOC images: one fine, and one of each kind of problem."""
    for stem in ("good", "outside", "flat", "garbled"):
        _write_png(folder / "JPEGImages" / f"{stem}.png")
    (folder / "JPEGImages" / "garbled.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    _voc_xml(folder / "Annotations" / "good.xml", "good.png", [("cat", 1, 1, 60, 40)])
    outside = [("cat", 1, 1, 10, 10), ("dog", 50, 20, 75, 30)]
    _voc_xml(folder / "Annotations" / "outside.xml", "outside.png", outside)
    _voc_xml(folder / "Annotations" / "flat.xml", "flat.png", [("dog", 20, 20, 10, 30)])
    _voc_xml(folder / "Annotations" / "garbled.xml", "garbled.png", [("cat", 1, 1, 5, 5)])
    _voc_xml(folder / "Annotations" / "lost.xml", "lost.png", [("cat", 1, 1, 5, 5)])
    (folder / "Annotations" / "zz_broken.xml").write_text("<annotation><object>")
    return folder


def test_validate_names_file_and_object_for_each_problem(tmp_path):
    data = formats.read_voc(_broken_voc(tmp_path / "voc"))
    assert data.class_names == ["cat", "dog"]
    problems = checks.validate(data)
    assert len(problems) == 5, problems
    expected = [  # reading problems first, then samples in file-name order
        "zz_broken.xml: not a readable VOC annotation",
        "flat.png object 0: zero or negative area, box [19, 19, 10, 30]",
        "garbled.png: missing or unreadable image",
        "lost.png: missing or unreadable image",
        "outside.png object 1: box [49, 19, 75, 30] is outside the 60x40 image",
    ]
    for text, problem in zip(expected, problems):
        assert problem.startswith(text), (text, problems)
    assert "does not exist" in next(p for p in problems if p.startswith("lost.png"))
    assert len(checks.validate(data, check_images=False)) == 3  # images are not opened


def test_unknown_classes_in_yolo_and_coco(tmp_path):
    _write_png(tmp_path / "yolo" / "images" / "a.png")
    _write_png(tmp_path / "yolo" / "images" / "b.png")
    (tmp_path / "yolo" / "labels").mkdir()
    (tmp_path / "yolo" / "labels" / "a.txt").write_text("0 .5 .5 .2 .2\n2 .5 .5 .2 .2\n")
    (tmp_path / "yolo" / "labels" / "b.txt").write_text("0 .5 .5\n")
    (tmp_path / "yolo" / "labels" / "c.txt").write_text("0 .5 .5 .2 .2\n")
    (tmp_path / "yolo" / "classes.txt").write_text("cat\ndog\n")
    yolo = checks.validate(formats.read_yolo(tmp_path / "yolo"))
    assert yolo[0].startswith("b.txt line 1: expected 'class cx cy w h'")
    assert yolo[1].startswith("c.txt: missing image")
    assert yolo[2] == "a.png object 1: unknown class id 2 (the dataset names 2 classes)"
    coco = {
        "images": [{"id": 1, "file_name": "a.png", "height": 40, "width": 60}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [
            {"id": 5, "image_id": 1, "category_id": 4, "bbox": [1, 1, 5, 5]},
            {"id": 6, "image_id": 2, "category_id": 1, "bbox": [1, 1, 5, 5]},
        ],
    }
    (tmp_path / "yolo" / "images" / "coco.json").write_text(json.dumps(coco))
    problems = checks.validate(formats.read_coco(tmp_path / "yolo" / "images" / "coco.json"))
    assert problems == [
        "annotation 1 (id 6): image_id 2 is not in 'images'",
        "a.png object 0: unknown class id -1 (the dataset names 1 classes)",
    ]


def test_load_checked_refuses_mostly_broken_data(tmp_path):
    with pytest.raises(ValueError, match="5 of 6 images have annotation problems") as error:
        checks.load_checked(_broken_voc(tmp_path / "voc"))
    assert "outside.png object 1" in str(error.value) and "lost.png" in str(error.value)


def test_load_checked_drops_a_few_broken_objects(scene_data, tmp_path, caplog):
    folder = scenes.write_voc(scene_data, tmp_path / "voc")
    xml = (folder / "Annotations" / "00002.xml").read_text()
    (folder / "Annotations" / "00002.xml").write_text(xml.replace("<xmax>", "<xmax>9", 1))
    with caplog.at_level(logging.WARNING, logger=data_lib.__name__):
        data = checks.load_checked(folder, max_problem_fraction=0.2)
    assert "00002.png object 0: box" in caplog.text and "outside the 64x64 image" in caplog.text
    assert len(data.samples) == 6 and checks.validate(data) == []
    assert len(data.samples[2].labels) == len(scene_data.samples[2].labels) - 1
    np.testing.assert_allclose(data.samples[2].boxes, scene_data.samples[2].boxes[1:], atol=1)


def test_load_detection_source_explains_what_it_accepts(tmp_path):
    with pytest.raises(ValueError, match="not a detection dataset. Accepted: a COCO .json"):
        formats.load_detection_source(tmp_path)
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a readable COCO detection file"):
        formats.load_detection_source(tmp_path / "bad.json")


def test_augment_flips_a_known_box_and_keeps_boxes_inside(scene_data):
    image = np.zeros((60, 100, 3), np.uint8)
    image[10:30, 5:25] = 255
    results = [augment(image, [[5, 10, 25, 30]], [2], seed, scale=0, shift=0) for seed in range(8)]
    flipped = [np.array_equal(out, image[:, ::-1]) for out, _, _ in results]
    assert any(flipped) and not all(flipped)
    for (out, boxes, labels), was_flipped in zip(results, flipped):
        expected = [[75, 10, 95, 30]] if was_flipped else [[5, 10, 25, 30]]
        np.testing.assert_allclose(boxes, expected, atol=1e-4)
        assert labels.tolist() == [2] and (was_flipped or np.array_equal(out, image))
    for seed, sample in enumerate(scene_data.samples):
        out, boxes, labels = augment(sample.image, sample.boxes, sample.labels, seed)
        assert (
            out.shape == sample.image.shape and out.dtype == np.uint8 and len(boxes) == len(labels)
        )
        assert (boxes >= 0).all() and (boxes[:, 2:] <= 64).all()
        assert (boxes[:, 2:] - boxes[:, :2] >= 1).all()
    again = augment(sample.image, sample.boxes, sample.labels, seed)
    np.testing.assert_array_equal(again[0], out)


def test_augment_moves_boxes_with_the_pixels():
    image = np.zeros((60, 100, 3), np.uint8)
    image[10:30, 5:25] = 255
    for seed in range(4):
        out, boxes, _ = augment(image, [[5, 10, 25, 30]], [0], seed, scale=0.3, shift=0.1)
        ys, xs = np.nonzero(out[..., 0] > 127)
        np.testing.assert_allclose(
            boxes[0], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], atol=1.5
        )


def test_resize_with_boxes_plain_and_letterbox():
    image = np.zeros((60, 100, 3), np.uint8)
    resized, boxes = resize_with_boxes(image, [[5, 10, 25, 30]], (30, 50))
    assert resized.shape == (30, 50, 3) and resized.dtype == np.uint8
    np.testing.assert_allclose(boxes, [[2.5, 5, 12.5, 15]])
    resized, boxes = resize_with_boxes(image, [[5, 10, 25, 30]], (50, 50), letterbox=True)
    assert resized.shape == (50, 50, 3)
    np.testing.assert_allclose(boxes, [[2.5, 15, 12.5, 25]])  # 30 rows, 10 rows of padding above


def _voc_examples():
    for index in range(3):
        yield {
            "image": np.full((40, 80, 3), index, np.uint8),
            "image/filename": f"{index:06d}.jpg",
            "labels": np.array([14, 6], np.int64),
            "labels_no_difficult": np.array([14], np.int64),
            "objects": {
                "bbox": np.array([[0.25, 0.1, 0.75, 0.5], [0, 0, 1, 1]], np.float32),
                "is_difficult": np.array([False, True]),
                "is_truncated": np.array([False, False]),
                "label": np.array([14, 6], np.int64),
                "pose": np.array([0, 0], np.int64),
            },
        }


def test_tfds_voc_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    import tensorflow as tf

    def as_dataset(self, *args, **kwargs):
        # tfds' random mocks give objects' bbox and label sequences different lengths
        signature = self.info.features.get_tensor_spec()
        return tf.data.Dataset.from_generator(_voc_examples, output_signature=signature)

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        data = formats.load_detection_source("tfds:voc/2007:test")
        no_difficult = formats.read_tfds_voc(skip_difficult=True, max_samples=2)
    assert len(data.class_names) == 20 and data.class_names[14] == "person"
    assert len(data.samples) == 3 and data.samples[1].name == "000001.jpg"
    np.testing.assert_allclose(data.samples[0].boxes, [[8, 10, 40, 30], [0, 0, 80, 40]])
    assert data.samples[0].labels.tolist() == [14, 6] and checks.validate(data) == []
    assert len(no_difficult.samples) == 2 and no_difficult.samples[0].labels.tolist() == [14]


def test_tfds_that_is_not_prepared_is_a_clear_error(tmp_path, monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    monkeypatch.setattr(tfds, "load", lambda *a, **k: (_ for _ in ()).throw(OSError("no data")))
    with pytest.raises(ValueError, match=r"tfds:voc/2012 split 'train' could not be loaded"):
        formats.load_detection_source("tfds:voc/2012")
