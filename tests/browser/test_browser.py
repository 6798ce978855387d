"""Upload → result in a real browser, and the README's screenshots.

Each test drives headless Chromium against ``streamlit run streamlit_app.py`` on localhost
(see ``conftest.py``). Screenshots go to a pytest temp "artifacts" dir, and also to
``$TRANSFERZOO_SCREENSHOTS_DIR`` when set (``docs/screenshots`` for the README).
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from shared.audio import decode_audio, encode_wav

pytestmark = [pytest.mark.browser, pytest.mark.real_weights]

CAT_CLASSES = ("tabby", "tiger cat", "Egyptian cat")
CARDS_CLIP = Path("/usr/share/pocketsphinx/test/data/cards/001.wav")
RESULT_TIMEOUT_S = 300  # first use converts the bundled weights


def wait_for(driver, condition, timeout=RESULT_TIMEOUT_S, what="the result"):
    """Wait until ``condition(driver)`` is truthy; fail with the page's errors otherwise."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.5).until(condition)
    except TimeoutException:
        errors = [element.text for element in find(driver, '[data-testid="stAlert"]')]
        pytest.fail(f"no {what} after {timeout} s; alerts on the page: {errors}")


def find(driver, css):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def texts(driver, css):
    return [element.text.strip() for element in find(driver, css)]


def metric(driver, label):
    """The value of the ``st.metric`` called ``label``, or None while it is not shown."""
    for element in find(driver, '[data-testid="stMetric"]'):
        label_text = texts(element, '[data-testid="stMetricLabel"]')
        if label_text and label_text[0] == label:
            values = texts(element, '[data-testid="stMetricValue"]')
            return values[0] if values else None
    return None


def choose(driver, option):
    """Click the radio option whose label is ``option``."""
    from selenium.webdriver.common.by import By

    xpath = f"//div[@data-testid='stRadio']//label[.//p[normalize-space()='{option}']]"
    wait_for(driver, lambda d: d.find_elements(By.XPATH, xpath), 60, f"radio {option!r}")
    driver.find_element(By.XPATH, xpath).click()


def upload(driver, path):
    """Give ``path`` to the page's file uploader."""
    wait_for(driver, lambda d: find(d, "input[type='file']"), 60, "a file uploader")
    find(driver, "input[type='file']")[0].send_keys(str(path))


def open_page(driver, server, path):
    driver.get(f"{server}/{path}")
    wait_for(driver, lambda d: find(d, "h1"), 90, "the page title")


def test_classification_upload_shows_the_top_5(browser, server, screenshot, tmp_path):
    photo = tmp_path / "chelsea.png"
    Image.fromarray(data.chelsea()).save(photo)
    open_page(browser, server, "image_classify")
    choose(browser, "Upload")
    upload(browser, photo)
    top = wait_for(browser, lambda d: metric(d, "Top class"), what="the top class")
    assert top in CAT_CLASSES
    wait_for(browser, lambda d: find(d, '[data-testid="stDataFrame"]'), 60, "the top-5 table")
    assert metric(browser, "Latency").endswith("ms")
    screenshot("classification_upload")


def _speech_wav(tmp_path):
    if CARDS_CLIP.exists():
        audio = decode_audio(CARDS_CLIP)
    else:  # a tone: the page must still answer, with or without words
        times = np.arange(16000) / 16000
        audio = (0.3 * np.sin(2 * np.pi * 440 * times)).astype("float32")
    path = tmp_path / "clip.wav"
    path.write_bytes(encode_wav(audio, 16000))
    return path


def test_speech_upload_shows_a_transcript(browser, server, screenshot, tmp_path):
    open_page(browser, server, "speech")
    choose(browser, "Upload")
    upload(browser, _speech_wav(tmp_path))
    wait_for(browser, lambda d: metric(d, "Real-time factor"), what="the transcript")
    transcript = " ".join(texts(browser, '[data-testid="stHeading"] h3')).lower()
    if CARDS_CLIP.exists():
        assert "clubs" in transcript, transcript
    else:
        assert transcript
    screenshot("speech_upload")


def test_screenshot_compare_three_classifiers(browser, server, screenshot, tmp_path):
    def three_classifiers(driver):
        tops = [m for m in find(driver, '[data-testid="stMetric"]') if "Top class" in m.text]
        return len(tops) == 3 and len(find(driver, '[data-testid="stDataFrame"]')) == 4

    open_page(browser, server, "compare")
    wait_for(browser, three_classifiers, what="three classifiers on the sample")
    # Then an uploaded photo: the models are loaded and the browser sits idle while they
    # predict (Chromium drawing a fresh page on this same 2-core machine would inflate the
    # latencies shown several times over).
    photo = tmp_path / "chelsea.png"
    Image.fromarray(data.chelsea()).save(photo)
    choose(browser, "Upload")
    upload(browser, photo)
    wait_for(
        browser,
        lambda d: (
            three_classifiers(d)
            and "chelsea.png" in " ".join(texts(d, "[data-testid='stCaptionContainer']"))
        ),
        120,
        "three classifiers on the upload",
    )
    screenshot("compare_classifiers")


def test_screenshot_speech_to_translation(browser, server, screenshot):
    open_page(browser, server, "chains")
    wait_for(
        browser,
        lambda d: len([text for text in texts(d, "h3") if text]) >= 2,
        what="a transcript and its translation",
    )
    screenshot("speech_to_translation")


def test_screenshot_finetune_started_and_finished(browser, server, screenshot):
    from selenium.webdriver.common.by import By

    open_page(browser, server, "train")
    button = "//button[.//p[normalize-space()='Start training']]"
    wait_for(browser, lambda d: d.find_elements(By.XPATH, button), 60, "the Start button")
    browser.find_element(By.XPATH, button).click()
    wait_for(browser, lambda d: find(d, '[data-testid="stProgress"]'), 60, "a progress bar")
    screenshot("finetune_started")
    wait_for(
        browser,
        lambda d: any("is complete" in text for text in texts(d, '[data-testid="stAlert"]')),
        what="the finished run",
    )
    wait_for(browser, lambda d: find(d, '[data-testid="stVegaLiteChart"]'), 60, "the curves")
    wait_for(browser, lambda d: "Open it on the Runs page" in d.page_source, 60, "the run link")
    screenshot("finetune_finished")


METRIC_SIZES = """
const sizes = [];
for (const metric of document.querySelectorAll('[data-testid="stMetric"]')) {
  const value = metric.querySelector('[data-testid="stMetricValue"] p');
  const label = metric.querySelector('[data-testid="stMetricLabel"] p');
  sizes.push([parseFloat(getComputedStyle(value).fontSize),
              parseFloat(getComputedStyle(label).fontSize),
              value.getBoundingClientRect().bottom]);
}
return sizes;
"""
SIDEBAR_WIDTH = (
    "return document.querySelector('[data-testid=\"stSidebar\"]').getBoundingClientRect().width"
)


def top_class_sizes(driver):
    """``(value px, label px, value bottom px)`` of the "Top class" metric, once shown."""
    wait_for(driver, lambda d: metric(d, "Top class"), what="the top class")
    return driver.execute_script(METRIC_SIZES)[0]


def test_presentation_mode_presents_at_1280_by_720_and_survives_a_reload(
    browser, server, screenshot
):
    browser.set_window_size(1280, 720)
    open_page(browser, server, "image_classify")
    normal_value, _, _ = top_class_sizes(browser)
    open_page(browser, server, "image_classify?present=1")
    value, label, bottom = top_class_sizes(browser)
    assert value >= 2 * normal_value and value > label, (value, label, normal_value)
    assert bottom <= browser.execute_script("return window.innerHeight")  # above the fold
    assert browser.execute_script(SIDEBAR_WIDTH) < 10  # collapsed for the audience
    assert not find(browser, '[data-testid="stAppDeployButton"]')
    screenshot("image_classify_presentation_mode")
    browser.refresh()
    wait_for(browser, lambda d: find(d, "h1"), 90, "the page title")
    assert top_class_sizes(browser)[0] == value and "present=1" in browser.current_url
