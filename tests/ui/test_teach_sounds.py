"""The Teach page's Sounds mode through ``streamlit.testing.v1.AppTest`` (offline, temp cache):
recorders and uploaders per class, uploads of two classes, Train, a prediction, a kept run."""

import numpy as np
from streamlit.testing.v1 import AppTest

from shared.audio import encode_wav
from tests.ui.apptest import APP

PAGE = "app_pages/teach.py"
TIMEOUT = 180
RATE = 16000


def wav(kind, seed):
    rng = np.random.default_rng(seed)
    time = np.arange(RATE) / RATE
    if kind == "tone":
        samples = 0.3 * np.sin(2 * np.pi * (440 + 60 * seed) * time)
    else:
        samples = 0.2 * rng.normal(size=time.shape)
    return encode_wav(samples.astype("float32"))


def clips(kind, seeds):
    return [(f"{kind}{seed}.wav", wav(kind, seed), "audio/wav") for seed in seeds]


def open_sounds():
    """The app on Home, then on the Teach page in Sounds mode (the Images mode's camera
    stream needs a browser session, which AppTest has not)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=TIMEOUT)
    at.session_state["teach_mode"] = "Sounds"
    at.switch_page(PAGE).run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert at.radio(key="teach_mode").value == "Sounds"
    assert not at.error, [error.value for error in at.error]
    return at


def test_sounds_mode_shows_a_recorder_and_an_uploader_per_class():
    at = open_sounds()
    assert [recorder.label for recorder in at.audio_input] == ["Record an example"] * 2
    assert [uploader.label for uploader in at.file_uploader] == ["or upload clips"] * 2
    assert not at.button(key="teach_sounds_train").disabled
    at.text_input(key="teach_sounds_classes").set_value("tone, noise, voice").run()
    assert not at.exception, at.exception
    assert len(at.audio_input) == len(at.file_uploader) == 3


def test_uploads_train_predict_and_keep():
    at = open_sounds()
    at.text_input(key="teach_sounds_classes").set_value("tone, noise").run()
    at.file_uploader(key="teach_sounds_upload_0_tone").set_value(clips("tone", range(4)))
    at.file_uploader(key="teach_sounds_upload_1_noise").set_value(clips("noise", range(4)))
    at.run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert [caption.value for caption in at.caption if caption.value.endswith("example(s)")] == [
        "4 example(s)",
        "4 example(s)",
    ]
    at.button(key="teach_sounds_train").click().run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert not at.error, [error.value for error in at.error]
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Held out"] == "2 of 8"
    assert metrics["Held-out accuracy"].endswith("%")

    at.audio_input(key="teach_sounds_try_record").set_value(
        ("recording.wav", wav("tone", 9), "audio/wav")
    )
    at.run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    prediction = [metric for metric in at.metric if metric.label.startswith("Prediction")]
    assert len(prediction) == 1 and prediction[0].value == "tone"

    at.button(key="teach_sounds_keep").click().run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert any("Kept as `run:" in success.value for success in at.success)
