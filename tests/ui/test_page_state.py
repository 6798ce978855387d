"""Inputs and choices kept across page switches (``shared.ui.page_state`` in the router)."""

import io
from pathlib import Path

import pytest
from PIL import Image

from apps import APPS
from shared.ui.presentation import PRESENTATION_KEY
from tests.ui.apptest import open_page

ROOT = Path(__file__).resolve().parents[2]

HOME = "app_pages/home.py"
CLASSIFY = "apps/image_classify/page.py"
TRANSLATE = "apps/translate/page.py"
TIMEOUT = 180
PAGES = [
    *(f"app_pages/{name}.py" for name in ("home", "compare", "chains", "train", "runs")),
    *(str(spec.page.relative_to(ROOT)) for spec in APPS if spec.page is not None),
]


def go(at, page):
    """``at`` switched to ``page``, without an exception."""
    at.switch_page(page).run(timeout=TIMEOUT)
    assert not at.exception, (page, at.exception)
    return at


def test_classifier_sample_and_model_survive_a_trip_home():
    at = open_page(CLASSIFY, timeout=TIMEOUT)
    at.selectbox(key="image_classify_sample").set_value("coffee").run(timeout=TIMEOUT)
    at.selectbox(key="image_classify_model").set_value("bundled:efficientnet_lite1")
    at.run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    go(go(at, HOME), CLASSIFY)
    assert at.selectbox(key="image_classify_sample").value == "coffee"
    assert at.selectbox(key="image_classify_model").value == "bundled:efficientnet_lite1"
    assert at.radio(key="image_classify_source").value == "Sample"


def test_translation_text_survives_a_trip_home():
    at = open_page(TRANSLATE, timeout=TIMEOUT)
    at.text_area(key="translate_text").input("The train leaves at noon.").run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    go(go(at, HOME), TRANSLATE)
    assert at.text_area(key="translate_text").value == "The train leaves at noon."


@pytest.mark.real_weights
def test_every_page_opens_again_with_state_set():
    at = open_page(CLASSIFY, timeout=TIMEOUT)
    at.selectbox(key="image_classify_sample").set_value("coffee").run(timeout=TIMEOUT)
    at.toggle(key=PRESENTATION_KEY).set_value(True).run(timeout=TIMEOUT)
    for _ in range(2):  # the second round finds every page's widgets kept
        for page in PAGES:
            go(at, page)
    assert at.toggle(key=PRESENTATION_KEY).value
    assert go(at, CLASSIFY).selectbox(key="image_classify_sample").value == "coffee"


def test_an_upload_and_buttons_are_left_alone_on_a_trip_home():
    """Uploaders and buttons cannot take a value from ``st.session_state``: no error."""
    at = open_page(CLASSIFY, timeout=TIMEOUT, radio=("image_classify_source", "Upload"))
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "orange").save(buffer, format="PNG")
    at.file_uploader(key="image_classify_upload").upload(
        "orange.png", buffer.getvalue(), "image/png"
    )
    at.run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    go(go(at, "app_pages/train.py"), CLASSIFY)
    assert at.radio(key="image_classify_source").value == "Upload"
    assert len(at.file_uploader) == 1
