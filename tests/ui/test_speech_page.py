"""The Speech to text page through ``streamlit.testing.v1.AppTest`` (offline, temp cache)."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from shared.audio import decode_audio, encode_wav
from tests.ui.apptest import open_page

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")
PAGE = "apps/speech/page.py"
CARDS_CLIP = Path("/usr/share/pocketsphinx/test/data/cards/001.wav")
NEEDS_CARDS = pytest.mark.skipif(
    not CARDS_CLIP.exists(), reason="needs the Debian package pocketsphinx-testdata"
)
TIMEOUT = 180


def open_speech_page(source=None):
    """The app switched to the speech page (optionally to an audio source), run once."""
    return open_page(PAGE, timeout=TIMEOUT, radio=source and ("speech_source", source))


def upload(at, name, content, mime="audio/wav"):
    at.file_uploader(key="speech_upload").upload(name, content, mime)
    return at.run(timeout=TIMEOUT)


def transcript_text(at):
    return " ".join(header.value for header in at.subheader).lower()


def test_home_page_lists_the_speech_app():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert "Speech to text" in [header.value.split(" ", 1)[-1] for header in at.subheader]
    assert "speech" in [link.proto.page for link in at.page_link]


def test_page_renders_with_its_options():
    at = open_speech_page()
    assert not at.error, [error.value for error in at.error]
    assert at.title[0].value.endswith("Speech to text")
    assert at.selectbox(key="speech_model").value == "bundled:whisper_tiny_en"
    assert at.slider(key="speech_beam_size").value == 1
    assert at.toggle(key="speech_timestamps").value is False
    options = at.selectbox(key="speech_sample").options
    assert any(option.startswith("generated") for option in options)
    if not CARDS_CLIP.exists():
        assert "pocketsphinx-testdata" in " ".join(info.value for info in at.info)


@NEEDS_CARDS
def test_cards_sample_is_transcribed_with_timestamps():
    at = open_speech_page()
    sample = at.selectbox(key="speech_sample")
    cards = next(option for option in sample.options if option.startswith("cards 001"))
    sample.set_value(cards)
    at.toggle(key="speech_timestamps").set_value(True).run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert not at.error, [error.value for error in at.error]
    assert "clubs" in transcript_text(at)
    assert {metric.label for metric in at.metric} >= {"Latency", "Real-time factor"}
    assert len(at.get("audio")) == 1
    assert "ten of clubs" in " ".join(markdown.value for markdown in at.markdown)
    assert at.dataframe and "clubs" in " ".join(at.dataframe[0].value["text"]).lower()


def test_wav_upload_is_transcribed():
    if CARDS_CLIP.exists():
        content = encode_wav(decode_audio(CARDS_CLIP), 16000)
    else:
        times = np.arange(16000) / 16000
        content = encode_wav((0.3 * np.sin(2 * np.pi * 440 * times)).astype(np.float32))
    at = upload(open_speech_page("Upload"), "clip.wav", content)
    assert not at.exception, at.exception
    assert not at.error, [error.value for error in at.error]
    if CARDS_CLIP.exists():
        assert "clubs" in transcript_text(at)


def test_recording_is_transcribed():
    times = np.arange(8000) / 16000
    content = encode_wav((0.3 * np.sin(2 * np.pi * 440 * times)).astype(np.float32))
    at = open_speech_page("Record")
    at.audio_input(key="speech_record").set_value(("recording.wav", content, "audio/wav"))
    at.run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert not at.error, [error.value for error in at.error]
    assert {metric.label for metric in at.metric} >= {"Latency", "Real-time factor"}


def test_bad_upload_shows_one_error_not_a_traceback():
    at = upload(open_speech_page("Upload"), "notes.wav", b"these are my notes, not audio")
    assert not at.exception, at.exception
    assert len(at.error) == 1
    assert "notes.wav" in at.error[0].value and "text, not audio" in at.error[0].value
    assert not at.metric


def test_oversized_upload_is_refused_with_the_limit():
    oversized = b"RIFF" + bytes(26 * 1024 * 1024)
    at = upload(open_speech_page("Upload"), "huge.wav", oversized)
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "the limit is 25 MB" in at.error[0].value
    assert not at.metric


@NEEDS_CARDS
def test_translation_on_the_english_only_model_is_one_clear_error():
    at = open_speech_page()
    sample = at.selectbox(key="speech_sample")
    sample.set_value(next(option for option in sample.options if option.startswith("cards 001")))
    at.radio(key="speech_task").set_value("translate").run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "English-only" in at.error[0].value
    assert not at.metric
