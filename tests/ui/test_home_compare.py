"""Home, presentation mode and the Compare page through ``AppTest`` (offline, temp dirs)."""

import io

import pytest
from PIL import Image
from skimage import data
from streamlit.testing.v1 import AppTest

from apps import APPS
from tests.ui import apptest

COMPARE = "app_pages/compare.py"
CAT_CLASSES = ("tabby", "tiger cat", "Egyptian cat")
TIMEOUT = 300


def open_page(page=None, **query):
    """The app run once on Home, then switched to ``page`` with ``query`` in its URL."""
    return apptest.open_page(page, timeout=TIMEOUT, **query)


def errors(at):
    return [error.value for error in at.error]


def png_bytes(image):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def test_home_has_a_card_per_app_with_weights_and_a_sample_link():
    at = open_page()
    titles = " ".join(header.value for header in at.subheader)
    assert all(spec.title in titles for spec in APPS)
    badges = " ".join(markdown.value for markdown in at.markdown if "-badge[" in markdown.value)
    assert "bundled (" in badges and "needs a run" not in badges  # the GAN has a bundled default
    links = {(link.proto.page, link.proto.query_string) for link in at.page_link}
    assert ("image_classify", "sample=chelsea") in links
    assert ("detection", "sample=coffee") in links
    assert ("translate", "sample=Travel") in links
    assert {"compare", "chains", "train", "runs"} <= {page for page, _ in links}


@pytest.mark.real_weights
def test_sample_query_preselects_the_sample_once():
    at = open_page("apps/image_classify/page.py", sample="coffee")
    assert at.selectbox(key="image_classify_sample").value == "coffee"
    assert "sample" not in at.query_params  # applied once: the user's next choice stays
    assert at.dataframe[0].value["label"].tolist()[0] in ("espresso", "cup", "coffee mug")


def test_unknown_sample_query_is_ignored():
    at = open_page("apps/detection/page.py", sample="../../etc/passwd")
    assert "sample" not in at.query_params
    at.radio(key="detection_source").set_value("Upload").run()
    assert not at.exception and not at.error


def test_presentation_mode_enlarges_type_and_preloads_samples():
    at = open_page()
    assert not [html for html in at.get("html") if "font-size" in html.proto.body]
    at.toggle(key="presentation_mode").set_value(True).run()
    assert not at.exception, at.exception
    assert [html for html in at.get("html") if "font-size" in html.proto.body]
    at.switch_page("app_pages/train.py").run()  # the toggle lives on every page
    assert at.toggle(key="presentation_mode").value is True
    assert at.session_state["presentation_mode"] is True


@pytest.mark.real_weights
def test_compare_three_classifiers_side_by_side():
    at = open_page(COMPARE)
    assert not at.error, errors(at)
    assert at.multiselect(key="compare_models_image_classify").value == [
        "bundled:efficientnet_lite0",
        "bundled:efficientnet_lite1",
        "bundled:efficientnet_lite2",
    ]
    tops = [metric.value for metric in at.metric if metric.label == "Top class"]
    assert len(tops) == 3 and all(top in CAT_CLASSES for top in tops), tops
    assert len([metric for metric in at.metric if metric.label == "Latency"]) == 3
    summary = at.dataframe[-1].value
    assert len(summary) == 3 and summary["parameters"].nunique() == 3
    assert list(summary.columns) == [
        "app",
        "model",
        "output",
        "latency (ms)",
        "parameters",
        "run metric",
    ]


@pytest.mark.real_weights
def test_compare_apps_on_one_image():
    at = open_page(COMPARE)
    at.radio(key="compare_mode").set_value("Apps on one input").run()
    assert not at.exception, at.exception
    at.selectbox(key="compare_image_sample").set_value("coffee").run()
    assert not at.exception and not at.error, errors(at)
    labels = [metric.label for metric in at.metric]
    assert "Top class" in labels and "Detections" in labels
    detections = next(metric for metric in at.metric if metric.label == "Detections")
    assert int(detections.value) >= 1  # the coffee cup


def test_compare_bad_image_uploads_are_errors_not_tracebacks():
    at = open_page(COMPARE)
    at.radio(key="compare_image_source").set_value("Upload").run()
    uploader = at.file_uploader(key="compare_image_upload")
    uploader.upload("notes.png", b"not a picture at all", "image/png").run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "notes.png" in at.error[0].value
    huge = b"\x89PNG" + bytes(21 * 1024 * 1024)
    at.file_uploader(key="compare_image_upload").upload("huge.png", huge, "image/png").run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "the limit is 20 MB" in at.error[0].value
    assert not at.metric


def test_compare_bad_audio_upload_is_an_error(monkeypatch):
    at = open_page(COMPARE)
    at.selectbox(key="compare_app").set_value("speech").run()
    assert not at.exception, at.exception
    at.radio(key="compare_audio_source").set_value("Upload").run()
    at.file_uploader(key="compare_audio_upload").upload("talk.wav", b"RIFF nonsense", "audio/wav")
    at.run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "talk.wav" in at.error[0].value


def _text_page():
    from shared.ui.inputs import text_input

    value, name = text_input("t", default="Upload")
    if value is not None:
        import streamlit as st

        st.write(f"got {len(value)} characters from {name}")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("binary.txt", bytes(range(256)) * 8, "not a text file"),
        ("empty.txt", b"   \n", "is empty"),
        ("long.txt", b"word " * 2000, "the limit is 5,000"),
        ("huge.txt", b"a" * (1024 * 1024 + 1), "the limit for text uploads is 1 MB"),
    ],
)
def test_bad_text_uploads_are_errors(name, content, message):
    at = AppTest.from_function(_text_page, default_timeout=TIMEOUT).run()
    at.file_uploader(key="t_upload").upload(name, content, "text/plain").run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and message in at.error[0].value, errors(at)
    assert not at.markdown


def test_a_good_text_upload_is_read():
    at = AppTest.from_function(_text_page, default_timeout=TIMEOUT).run()
    at.file_uploader(key="t_upload").upload("hi.txt", "Olá, hello.".encode(), "text/plain").run()
    assert not at.exception and not at.error
    assert at.markdown[0].value == "got 11 characters from hi.txt"


@pytest.mark.real_weights
def test_compare_png_upload_through_the_models():
    at = open_page(COMPARE)
    at.multiselect(key="compare_models_image_classify").set_value(["bundled:efficientnet_lite0"])
    at.radio(key="compare_image_source").set_value("Upload").run()
    at.file_uploader(key="compare_image_upload").upload(
        "cat.png", png_bytes(data.chelsea()), "image/png"
    )
    at.run()
    assert not at.exception and not at.error, errors(at)
    assert [m.value for m in at.metric if m.label == "Top class"][0] in CAT_CLASSES


def test_compare_offers_hub_presets_offline_only_when_asked():
    at = open_page(COMPARE)
    key = "compare_models_image_classify"
    assert not any("needs network" in label for label in at.multiselect(key=key).options)
    at.toggle(key="compare_online_image_classify").set_value(True).run()
    assert any("needs network" in label for label in at.multiselect(key=key).options)
    at.multiselect(key=key).set_value(["bundled:efficientnet_lite0", "resnet_50_imagenet"]).run()
    assert "needs the network" in " ".join(errors(at))
    at.toggle(key="compare_online_image_classify").set_value(False).run()
    assert not at.exception, at.exception
    assert at.multiselect(key=key).value == ["bundled:efficientnet_lite0"] and not at.error
