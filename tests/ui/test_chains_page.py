"""The Chains page through ``AppTest``: speech → translation, detection → classification."""

from pathlib import Path

import numpy as np
import pytest

from shared.ui.render import crop
from tests.ui.apptest import open_page

PAGE = "app_pages/chains.py"
LIBRIVOX = Path(
    "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav"
)
TIMEOUT = 300


def open_chains(chain=None):
    return open_page(PAGE, timeout=TIMEOUT, radio=chain and ("chain_kind", chain))


def headings(at):
    return [markdown.value for markdown in at.markdown if markdown.value.startswith("### ")]


def test_crop_adds_a_margin_and_stays_inside_the_image():
    image = np.arange(100 * 80 * 3, dtype="uint8").reshape(100, 80, 3)
    assert crop(image, (10, 20, 30, 60)).shape == (52, 26, 3)  # 15 % margin each side
    assert crop(image, (-5, -5, 500, 500)).shape == (100, 80, 3)
    assert crop(image, (200, 200, 300, 300)) is None  # outside the image


def test_speech_chain_transcribes_a_sample():
    at = open_chains()
    assert not at.error, [error.value for error in at.error]
    assert headings(at), "no transcript shown"
    if LIBRIVOX.exists():
        assert "young man" in headings(at)[0].lower()


def test_speech_to_translation():
    at = open_chains()
    assert not at.error, [error.value for error in at.error]
    shown = headings(at)
    assert len(shown) == 2, shown  # the transcript, then its translation
    assert shown[1].strip("# ") and shown[1] != shown[0]
    captions = " ".join(caption.value for caption in at.caption)
    assert "Translated (" in captions
    if LIBRIVOX.exists():  # Whisper base, the chain's default, heard the language
        assert "Language: English (en), detected" in captions


def test_speech_chain_bad_upload_is_an_error():
    at = open_chains()
    at.radio(key="chain_speech_source").set_value("Upload").run()
    at.file_uploader(key="chain_speech_upload").upload("voice.mp3", b"ID3 garbage", "audio/mpeg")
    at.run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "voice.mp3" in at.error[0].value
    assert not headings(at)


@pytest.mark.real_weights
def test_detected_objects_are_cropped_and_classified():
    at = open_chains("Detection → classification")
    at.selectbox(key="chain_image_sample").set_value("coffee").run()
    assert not at.exception, at.exception
    assert not at.error, [error.value for error in at.error]
    table = at.dataframe[0].value
    assert len(table) >= 1 and set(table["detected"]) == {"cup"}
    assert len(at.image) == 1 + len(table)  # the drawn image, then one crop per detection


def test_detection_chain_bad_upload_is_an_error():
    at = open_chains("Detection → classification")
    at.radio(key="chain_image_source").set_value("Upload").run()
    at.file_uploader(key="chain_image_upload").upload("photo.jpg", b"\xff\xd8 broken", "image/jpeg")
    at.run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "photo.jpg" in at.error[0].value
