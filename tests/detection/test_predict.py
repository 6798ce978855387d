"""Tests for apps.detection.predict: the bundled MTCNN face detector (``bundled:mtcnn_faces``),
drawing and the CLI."""

import json

import numpy as np
import pytest
from PIL import Image
from skimage import data

from apps.detection.model import Detection
from apps.detection.predict import main
from apps.detection.predictor import Predictor, draw_detections

FACES = "bundled:mtcnn_faces"
KEYPOINTS = {"left_eye", "right_eye", "nose", "mouth_left", "mouth_right"}


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load(FACES)


@pytest.fixture
def astronaut_png(tmp_path, astronaut):
    path = tmp_path / "astronaut.png"
    Image.fromarray(astronaut).save(path)
    return path


@pytest.mark.real_weights
def test_bundled_model_finds_the_astronauts_face(predictor, astronaut):
    result = predictor.predict(astronaut, source="astronaut")
    assert result.model == "bundled:mtcnn_faces" and result.source == "astronaut"
    assert result.image_size == (512, 512) and result.latency_ms > 0
    assert predictor.class_names == ["face"]
    [face] = result.detections
    assert isinstance(face, Detection)
    assert face.label == "face" and 0.9 < face.score <= 1.0
    x1, y1, x2, y2 = face.box
    assert 0 <= x1 < x2 <= 512 and 0 <= y1 < y2 <= 512
    assert set(face.keypoints) == KEYPOINTS
    for x, y in face.keypoints.values():
        assert x1 <= x <= x2 and y1 <= y <= y2


@pytest.mark.real_weights
def test_a_photo_without_faces_gives_no_detections(predictor):
    assert predictor.predict(data.coffee()).detections == []


@pytest.mark.real_weights
def test_cli_prints_one_json_line(astronaut_png, capsys):
    assert main([str(astronaut_png), "--model", FACES, "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["model"] == "bundled:mtcnn_faces" and result["latency_ms"] > 0
    assert result["source"] == str(astronaut_png)
    [face] = result["detections"]
    assert face["label"] == "face" and 0 < face["score"] <= 1
    assert len(face["box"]) == 4 and all(isinstance(value, (int, float)) for value in face["box"])
    assert 0 <= face["box"][0] < face["box"][2] <= 512
    assert set(face["keypoints"]) == KEYPOINTS
    assert all(len(point) == 2 for point in face["keypoints"].values())


@pytest.mark.real_weights
def test_cli_save_dir_writes_a_drawn_image(astronaut_png, astronaut, tmp_path, capsys):
    save_dir = tmp_path / "drawn"
    assert main([str(astronaut_png), "--model", FACES, "--save-dir", str(save_dir)]) == 0
    assert "1 found" in capsys.readouterr().out
    drawn = np.asarray(Image.open(save_dir / "astronaut_detections.png"))
    assert drawn.shape == astronaut.shape and not np.array_equal(drawn, astronaut)


def test_cli_refuses_a_file_that_is_not_an_image(tmp_path, capsys):
    notes = tmp_path / "notes.png"
    notes.write_text("these are my notes, not a picture")
    assert main([str(notes), "--json"]) == 1
    captured = capsys.readouterr()
    [record] = [json.loads(line) for line in captured.out.splitlines()]
    assert record["source"] == str(notes) and "not an image" in record["error"]
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "notes.png" in lines[0]


def test_draw_detections_draws_on_a_copy(astronaut):
    original = astronaut.copy()
    detections = [
        Detection(label="face", score=0.99, box=[180.0, 60.0, 265.0, 170.0]),
        Detection(label="person", score=0.4, box=[10.0, 300.0, 120.0, 500.0]),
    ]
    drawn = draw_detections(astronaut, detections)
    assert drawn.shape == astronaut.shape and drawn.dtype == np.uint8
    assert not np.array_equal(drawn, astronaut)
    np.testing.assert_array_equal(astronaut, original)
    assert np.array_equal(draw_detections(astronaut, []), astronaut)


def test_a_detection_without_keypoints_has_none_in_its_json():
    found = Detection(label="cup", score=np.float32(0.5), box=[1.0, 2.0, 3.0, 4.0])
    assert json.loads(json.dumps(found.to_dict())) == {
        "label": "cup",
        "score": 0.5,
        "box": [1.0, 2.0, 3.0, 4.0],
    }
    face = Detection(label="face", score=0.9, box=[0, 0, 1, 1], keypoints={"nose": (0.5, 0.5)})
    assert face.to_dict()["keypoints"] == {"nose": [0.5, 0.5]}


def test_hub_preset_offline_names_the_offline_choice(monkeypatch):
    monkeypatch.setenv("TRANSFERZOO_OFFLINE", "1")
    with pytest.raises(ValueError, match="bundled:mtcnn_faces"):
        Predictor.load("retinanet_resnet50_fpn_coco")
