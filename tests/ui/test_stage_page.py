"""The Stage page through ``AppTest``: one photo through every image app, big (offline)."""

import pytest

from tests.ui import apptest

STAGE = "app_pages/stage.py"
TIMEOUT = 300
COFFEE_CLASSES = ("espresso", "cup", "coffee mug")


def open_stage(**query):
    return apptest.open_page(STAGE, timeout=TIMEOUT, **query)


@pytest.mark.real_weights
def test_first_screen_shows_the_coffee_photo_through_classification_and_detection():
    at = open_stage()
    assert not at.error, [error.value for error in at.error]
    assert at.selectbox(key="stage_image_sample").value == "coffee"
    panels = [header.value for header in at.subheader]
    assert panels == ["Input", "Image classification", "Object detection"], panels
    top = next(metric for metric in at.metric if metric.label == "Top class")
    assert top.value == "espresso", top.value  # what EfficientNet-Lite0 says (91%)
    detections = next(metric for metric in at.metric if metric.label == "Detections")
    assert int(detections.value) >= 1
    summaries = " ".join(caption.value for caption in at.caption)
    assert "espresso (" in summaries and "cup" in summaries, summaries


@pytest.mark.real_weights
def test_presenting_styles_the_stage_and_panels_can_be_picked():
    at = open_stage()
    at.toggle(key="presentation_mode").set_value(True).run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    styles = " ".join(html.proto.body for html in at.get("html"))
    assert "stMainBlockContainer" in styles and "font-size: 5rem" in styles
    at.multiselect(key="stage_panels_image").set_value(["detection"]).run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert [header.value for header in at.subheader] == ["Input", "Object detection"]
    assert [metric.label for metric in at.metric] == ["Detections"]
    at.multiselect(key="stage_panels_image").set_value([]).run(timeout=TIMEOUT)
    assert "Pick at least one app" in at.info[0].value


def test_a_bad_upload_is_an_error_and_no_panel():
    at = open_stage()
    at.radio(key="stage_image_source").set_value("Upload").run(timeout=TIMEOUT)
    uploader = at.file_uploader(key="stage_image_upload")
    uploader.upload("notes.png", b"not a picture at all", "image/png").run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "notes.png" in at.error[0].value
    assert not at.metric


def test_text_input_shows_the_translation_panel_only():
    at = open_stage()
    at.selectbox(key="stage_modality").set_value("text").run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert at.multiselect(key="stage_panels_text").value == ["translate"]
