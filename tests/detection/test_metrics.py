"""Tests for apps.detection.metrics: COCO mAP through pycocotools on hand-made cases."""

import numpy as np
import pytest

from apps.detection import metrics, scenes
from apps.detection.data import DetectionData, DetectionSample

CLASS_NAMES = ["cat", "dog"]


def _ground_truth():
    return DetectionData(
        [
            DetectionSample(np.zeros((100, 100, 3), np.uint8), [[10, 10, 40, 40]], [0]),
            DetectionSample(np.zeros((100, 100, 3), np.uint8), [[50, 50, 90, 80]], [0]),
        ],
        CLASS_NAMES,
    )


def test_perfect_predictions_score_one(capsys):
    data = scenes.make_scenes(5, image_size=64, seed=2)
    predictions = [(s.boxes, np.linspace(0.9, 0.5, len(s.labels)), s.labels) for s in data.samples]
    result = metrics.coco_map(data, predictions)
    assert result["map"] == pytest.approx(1.0)
    assert result["map50"] == pytest.approx(1.0) and result["map75"] == pytest.approx(1.0)
    assert result["per_class_ap"] == pytest.approx({"circle": 1.0, "square": 1.0, "triangle": 1.0})
    assert capsys.readouterr().out == ""  # pycocotools' prints are silenced


def test_one_found_and_one_false_positive_ranked_above_it():
    # Two ground-truth cats; one is found exactly (IoU 1, score 0.9) and a false positive that
    # overlaps nothing scores higher (0.95). In score order: FP then TP, so after each detection
    # (precision, recall) = (0, 0) then (0.5, 0.5). COCO makes precision non-increasing from
    # the right ([0.5, 0.5]) and reads it at the 101 recall thresholds 0, 0.01, ..., 1: the 51
    # thresholds up to 0.50 get 0.5, the 50 above get 0 (recall never passes 0.5). So
    # AP = 51 * 0.5 / 101 = 0.25247..., the same at every IoU threshold because IoU is 1 or 0.
    expected = 51 * 0.5 / 101
    predictions = [
        ([[10, 10, 40, 40]], [0.9], [0]),
        ([[0, 0, 5, 5]], [0.95], [0]),  # misses the cat at [50, 50, 90, 80]
    ]
    result = metrics.coco_map(_ground_truth(), predictions)
    assert result["map"] == pytest.approx(expected)
    assert result["map50"] == pytest.approx(expected) and result["map75"] == pytest.approx(expected)
    assert result["per_class_ap"] == {"cat": pytest.approx(expected), "dog": None}


def test_no_predictions_score_zero():
    empty = (np.zeros((0, 4)), np.zeros(0), np.zeros(0, int))
    result = metrics.coco_map(_ground_truth(), [empty, empty])
    assert result == {
        "map": 0.0,
        "map50": 0.0,
        "map75": 0.0,
        "per_class_ap": {"cat": 0.0, "dog": None},
    }


def test_ground_truth_as_pairs_and_a_wrong_class():
    ground_truth = [([[10, 10, 40, 40]], [0]), ([[50, 50, 90, 80]], [1])]
    # the cat is called a dog, with a lower score than the real dog, so dog AP stays 1
    predictions = [([[10, 10, 40, 40]], [0.6], [1]), ([[50, 50, 90, 80]], [0.7], [1])]
    result = metrics.coco_map(ground_truth, predictions, CLASS_NAMES)
    assert result["per_class_ap"] == {"cat": 0.0, "dog": pytest.approx(1.0)}
    assert result["map"] == pytest.approx(0.5)  # the mean over the two classes


def test_bad_inputs_are_value_errors():
    with pytest.raises(ValueError, match="1 predictions for 2 ground-truth images"):
        metrics.coco_map(_ground_truth(), [([], [], [])])
    with pytest.raises(ValueError, match="no boxes"):
        metrics.coco_map([(np.zeros((0, 4)), [])], [([], [], [])], CLASS_NAMES)
