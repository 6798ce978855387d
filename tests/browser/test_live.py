"""The Live page in a real browser: Chromium's fake camera (a moving test pattern) streamed
to the server, classified and detected frame by frame; a real speech recording played as the
fake microphone, transcribed and translated as it streams.
"""

import os
import re
import shutil
import time
from pathlib import Path

import pytest
from skimage import data

from tests.browser.conftest import SCREENSHOTS_ENV
from tests.browser.fake_media import write_y4m
from tests.browser.test_browser import choose, find, metric, open_page, texts, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.real_weights]

SPEECH_CLIP = Path("/usr/share/pocketsphinx/test/data/cards/005.wav")  # cards, with pauses
CARD_WORDS = ("clubs", "spades", "hearts", "eight", "four", "seven")
STREAM_TIMEOUT_S = 240


def save_screenshot(driver, artifacts, name):
    """Like the ``screenshot`` fixture, for a driver it did not start."""
    path = artifacts / f"{name}.png"
    driver.save_screenshot(str(path))
    if os.environ.get(SCREENSHOTS_ENV):
        target = Path(os.environ[SCREENSHOTS_ENV])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / path.name)
    return path


def press_stream_button(driver, label, index=0):
    """Click the ``label`` button (START / STOP) of the page's ``index``-th stream until the
    other one shows (a click on a stream that a rerun then replaces is lost)."""
    other = {"START": "STOP", "STOP": "START"}[label]
    wait_for(driver, lambda d: stream_button(d, index, (label, other)), 120, f"the {label} button")
    wait_for(driver, lambda d: stream_button(d, index, (other,), click=label), 60, f"{other}")


def stream_button(driver, index, labels, click=None):
    """The text of the first of ``labels`` shown on stream ``index`` (or None); clicks the
    ``click`` button first when there is one."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By

    frames = stream_frames(driver)
    if len(frames) <= index:
        return None
    try:
        driver.switch_to.frame(frames[index])
        buttons = {b.text: b for b in driver.find_elements(By.TAG_NAME, "button")}
        if click in buttons:
            buttons[click].click()
            time.sleep(1)
            buttons = {b.text: b for b in driver.find_elements(By.TAG_NAME, "button")}
        return next((label for label in labels if label in buttons), None)
    except (StaleElementReferenceException, WebDriverException):
        return None
    finally:
        driver.switch_to.default_content()


def page_text(driver):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def stream_frames(driver):
    return [f for f in find(driver, "iframe") if "webrtc" in (f.get_attribute("title") or "")]


def fps(driver):
    value = metric(driver, "FPS")
    return float(value) if value and re.fullmatch(r"[0-9.]+", value) else None


def predicted(driver):
    """The prediction metric once the stream has produced one, and the FPS figure."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:  # the fragment redraws the metrics every second
        label, rate, latency = metric(driver, "Prediction"), fps(driver), metric(driver, "Latency")
    except StaleElementReferenceException:
        return False
    return label not in (None, "…") and rate and (label, rate, latency)


def test_camera_stream_classifies_each_frame(media_browser, server, artifacts):
    driver = media_browser()  # Chromium's moving test pattern
    open_page(driver, server, "live")
    press_stream_button(driver, "START")
    label, rate, latency = wait_for(driver, predicted, STREAM_TIMEOUT_S, "a live prediction")
    assert rate > 0
    assert re.search(r"\S \d\.\d\d$", label), label  # "<class> <score>"
    assert latency.endswith("ms"), latency
    save_screenshot(driver, artifacts, "live_camera")
    press_stream_button(driver, "STOP")


def test_camera_stream_detects_a_cup(media_browser, server, artifacts, tmp_path):
    video = write_y4m(tmp_path / "coffee.y4m", [(data.coffee(), 1.0)])
    driver = media_browser(f"--use-file-for-fake-video-capture={video}")
    open_page(driver, server, "live")
    choose(driver, "Detection")
    wait_for(driver, lambda d: "Detection by" in page_text(d), 120, "the detector")
    press_stream_button(driver, "START")

    # Video compression blurs the frames a little: some frames may fall under the threshold.
    def cup(d):
        found = predicted(d)
        return found and found[0].startswith("cup ") and found

    label, rate, _ = wait_for(driver, cup, STREAM_TIMEOUT_S, "a cup detected live")
    assert rate > 0
    save_screenshot(driver, artifacts, "live_detection")
    press_stream_button(driver, "STOP")


@pytest.mark.skipif(not SPEECH_CLIP.exists(), reason="needs pocketsphinx-testdata's clips")
def test_microphone_stream_transcribes_and_translates(media_browser, server, artifacts):
    driver = media_browser(f"--use-file-for-fake-audio-capture={SPEECH_CLIP}")
    open_page(driver, server, "live")
    choose(driver, "Microphone")
    wait_for(driver, lambda d: "Input level" in page_text(d), 120, "the speech models")
    press_stream_button(driver, "START")

    def lines(d):
        from selenium.common.exceptions import StaleElementReferenceException

        try:  # the fragment redraws the lines every second
            cells = texts(d, '[data-testid="stMarkdownContainer"]')
        except StaleElementReferenceException:
            return False
        return cells and any(word in " ".join(cells).lower() for word in CARD_WORDS) and cells

    cells = wait_for(driver, lines, STREAM_TIMEOUT_S, "a transcribed line")
    assert any(word in " ".join(cells).lower() for word in CARD_WORDS), cells
    save_screenshot(driver, artifacts, "live_microphone")
    press_stream_button(driver, "STOP")
