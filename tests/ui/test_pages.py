"""The Streamlit pages through ``streamlit.testing.v1.AppTest`` (offline, temp cache and runs)."""

import io
from pathlib import Path

import pytest
from PIL import Image
from skimage import data
from streamlit.testing.v1 import AppTest

from tests.ui.apptest import open_page

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")
PAGE = "apps/image_classify/page.py"
CAT_CLASSES = ("tabby", "tiger cat", "Egyptian cat")
TIMEOUT = 120


def page_text(at):
    """All the text a user would read on the page, including the tables."""
    parts = [element.value for element in (*at.markdown, *at.title, *at.subheader, *at.caption)]
    parts += [str(element.value) for element in (*at.error, *at.info)]
    parts += [f"{metric.label} {metric.value}" for metric in at.metric]
    parts += [frame.value.to_string() for frame in at.dataframe]
    return "\n".join(parts)


def open_classifier_page():
    return open_page(PAGE, timeout=TIMEOUT)


def test_home_page_lists_the_image_app():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    text = page_text(at)
    assert "TransferZoo" in text and "Image classification" in text
    assert "bundled (" in text
    assert "image_classify" in [link.proto.page for link in at.page_link]


def test_classifier_page_renders_with_an_upload_prompt():
    at = open_classifier_page()
    at.radio(key="image_classify_source").set_value("Upload").run()
    assert not at.exception, at.exception
    assert not at.error
    assert len(at.file_uploader) == 1
    assert at.selectbox(key="image_classify_model").value == "bundled:efficientnet_lite0"


@pytest.mark.real_weights
def test_chelsea_sample_is_a_cat():
    at = open_classifier_page()
    at.radio(key="image_classify_source").set_value("Sample")
    at.selectbox(key="image_classify_sample").set_value("chelsea").run()
    assert not at.exception, at.exception
    assert not at.error, [error.value for error in at.error]
    top = at.dataframe[0].value["label"].tolist()
    assert top[0] in CAT_CLASSES, top
    assert "ms" in page_text(at)


@pytest.mark.real_weights
def test_gradcam_toggle_shows_an_overlay():
    at = open_classifier_page()
    assert len(at.image) == 1
    at.toggle(key="image_classify_gradcam").set_value(True).run()
    assert not at.exception, at.exception
    assert len(at.image) == 2 and "Grad-CAM" in at.image[1].captions[0]


@pytest.mark.real_weights
def test_png_upload_is_classified():
    buffer = io.BytesIO()
    Image.fromarray(data.chelsea()).save(buffer, format="PNG")
    at = open_classifier_page()
    at.radio(key="image_classify_source").set_value("Upload").run()
    at.file_uploader(key="image_classify_upload").upload("cat.png", buffer.getvalue(), "image/png")
    at.run()
    assert not at.exception, at.exception
    assert at.dataframe[0].value["label"].tolist()[0] in CAT_CLASSES


def test_bad_upload_shows_an_error_not_a_traceback():
    at = open_classifier_page()
    at.radio(key="image_classify_source").set_value("Upload").run()
    at.file_uploader(key="image_classify_upload").upload(
        "notes.jpg", b"these are my notes, not a photo", "image/jpeg"
    )
    at.run()
    assert not at.exception, at.exception
    assert len(at.error) == 1
    assert "notes.jpg" in at.error[0].value and "not an image" in at.error[0].value
    assert not at.dataframe


def test_offline_the_model_list_offers_hub_presets_only_when_asked():
    at = open_classifier_page()
    model = at.selectbox(key="image_classify_model")
    assert model.value == "bundled:efficientnet_lite0"
    assert model.options[0].startswith("bundled:")
    assert not any("needs network" in label for label in model.options)
    at.toggle(key="image_classify_model_online").set_value(True).run()
    options = at.selectbox(key="image_classify_model").options
    hub = [index for index, label in enumerate(options) if "needs network" in label]
    assert hub and hub == list(range(hub[0], len(options)))  # grouped after the offline ones
    assert any("resnet_50_imagenet" in options[index] for index in hub)
    assert at.selectbox(key="image_classify_model").value == "bundled:efficientnet_lite0"
    at.selectbox(key="image_classify_model").set_value("resnet_50_imagenet").run()
    at.toggle(key="image_classify_model_online").set_value(False).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="image_classify_model").value == "bundled:efficientnet_lite0"
    assert not at.error, [error.value for error in at.error]


def test_hub_preset_offline_names_the_offline_choices():
    at = open_classifier_page()
    at.toggle(key="image_classify_model_online").set_value(True).run()
    at.selectbox(key="image_classify_model").set_value("resnet_50_imagenet").run()
    assert not at.exception, at.exception
    message = " ".join(error.value for error in at.error)
    assert "needs the network" in message and "bundled:efficientnet_lite0" in message
    assert not at.dataframe


def test_oversized_upload_is_refused_with_the_limit():
    at = open_classifier_page()
    at.radio(key="image_classify_source").set_value("Upload").run()
    oversized = b"\x89PNG" + bytes(21 * 1024 * 1024)
    at.file_uploader(key="image_classify_upload").upload("huge.png", oversized, "image/png")
    at.run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "the limit is 20 MB" in at.error[0].value
