"""The Object detection page through ``streamlit.testing.v1.AppTest`` (offline, temp cache)."""

import pytest

from apps.detection.predictor import Predictor
from tests.ui.apptest import open_page

PAGE = "apps/detection/page.py"
TIMEOUT = 180


def open_detection_page(source=None):
    """The app switched to the detection page (optionally to an image source), run once."""
    return open_page(PAGE, timeout=TIMEOUT, radio=source and ("detection_source", source))


def metric_values(at):
    return {metric.label: metric.value for metric in at.metric}


def test_page_renders_with_its_options():
    at = open_detection_page(source="Upload")
    assert not at.error, [error.value for error in at.error]
    assert "Object detection" in at.title[0].value
    assert at.selectbox(key="detection_model").value == "bundled:yolov3_tiny_coco"
    assert at.slider(key="detection_score").value == 0.5
    assert at.slider(key="detection_iou").value == 0.5
    assert len(at.file_uploader) == 1


@pytest.mark.real_weights
def test_first_sample_shows_the_coffee_cup():
    at = open_detection_page()
    assert at.selectbox(key="detection_sample").value == "coffee"
    assert not at.error, [error.value for error in at.error]
    table = at.dataframe[0].value
    assert table["label"].tolist() == ["cup"]
    assert list(table.columns) == ["label", "score", "x1", "y1", "x2", "y2"]
    assert metric_values(at)["Detections"] == "1"
    assert metric_values(at)["Latency"].endswith("ms")
    assert len(at.image) == 1
    at.slider(key="detection_score").set_value(0.1).run(timeout=TIMEOUT)
    assert int(metric_values(at)["Detections"]) > 1  # the slider reaches the detector


@pytest.mark.real_weights
def test_the_score_slider_filters_without_running_the_detector_again(monkeypatch):
    calls = []
    predict = Predictor.predict

    def counted(self, *args, **kwargs):
        calls.append(kwargs)
        return predict(self, *args, **kwargs)

    monkeypatch.setattr(Predictor, "predict", counted)
    at = open_detection_page()
    assert metric_values(at)["Detections"] == "1"
    ran = len(calls)
    at.slider(key="detection_score").set_value(0.1).run(timeout=TIMEOUT)
    assert int(metric_values(at)["Detections"]) > 1
    assert len(at.dataframe[0].value) == int(metric_values(at)["Detections"])
    at.slider(key="detection_score").set_value(0.95).run(timeout=TIMEOUT)
    assert metric_values(at)["Detections"] == "0"
    assert len(calls) == ran  # the score slider only filters
    at.slider(key="detection_iou").set_value(0.3).run(timeout=TIMEOUT)
    assert len(calls) == ran + 1  # a new IoU threshold runs the detector once


@pytest.mark.real_weights
def test_the_face_detector_finds_the_astronauts_face():
    at = open_detection_page()
    at.selectbox(key="detection_model").set_value("bundled:mtcnn_faces")
    at.selectbox(key="detection_sample").set_value("astronaut").run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert at.dataframe[0].value["label"].tolist() == ["face"]


@pytest.mark.real_weights
def test_highest_score_threshold_still_renders():
    at = open_detection_page()
    at.slider(key="detection_score").set_value(0.95).run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert not at.error, [error.value for error in at.error]
    assert metric_values(at)["Detections"] == "0"


@pytest.mark.real_weights
@pytest.mark.parametrize("sample", ["rocket", "synthetic scene (shapes)"])
def test_a_sample_with_nothing_found_suggests_a_lower_threshold(sample):
    at = open_detection_page()
    at.selectbox(key="detection_sample").set_value(sample).run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert metric_values(at)["Detections"] == "0"
    assert any("lower the score threshold" in info.value for info in at.info)


def test_bad_upload_shows_one_error_not_a_traceback():
    at = open_detection_page(source="Upload")
    at.file_uploader(key="detection_upload").upload(
        "notes.png", b"these are my notes, not a picture", "image/png"
    )
    at.run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "notes.png" in at.error[0].value
    assert not at.dataframe and not at.metric
