"""The Teach page in a real browser: three classes named, examples captured from Chromium's
fake camera, a head trained, predictions drawn live; the time from the first capture to the
first live prediction is written to the artifacts dir (``teach_loop.json``)."""

import json
import os
import time

import numpy as np
import pytest
from PIL import Image
from skimage import data

from tests.browser.fake_media import SIZE, write_y4m
from tests.browser.test_browser import find, metric, open_page, wait_for
from tests.browser.test_live import page_text, predicted, press_stream_button, save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.real_weights]

PHOTOS = {"camera": data.camera, "coffee": data.coffee, "rocket": data.rocket}
CLASSES = tuple(PHOTOS)
SCENE_SECONDS = 4  # each photo stays on the fake camera this long, in turn, looping
# The mean colour of the lower half of the frame the page shows: which photo is on screen.
FRAME_COLOUR = """
const video = document.querySelector("video");
if (!video || !video.videoWidth) return null;
const canvas = document.createElement("canvas");
canvas.width = 64; canvas.height = 48;
const context = canvas.getContext("2d");
context.drawImage(video, 0, 0, 64, 48);
const pixels = context.getImageData(0, 24, 64, 24).data;
const sum = [0, 0, 0];
for (let i = 0; i < pixels.length; i += 4) for (let c = 0; c < 3; c++) sum[c] += pixels[i + c];
return sum.map((value) => value / (pixels.length / 4));
"""
CAPTURES = int(os.environ.get("TRANSFERZOO_TEACH_CAPTURES", "3"))  # per class


def buttons(driver, label):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.XPATH, f"//button[.//p[normalize-space()='{label}']]")


def click_when_idle(driver, label, index=0):
    """Click the ``index``-th ``label`` button once the page is not running."""
    wait_for(driver, lambda d: not find(d, '[data-testid="stStatusWidget"]'), 120, "an idle page")
    wait_for(driver, lambda d: len(buttons(d, label)) > index, 60, f"{label!r}")
    buttons(driver, label)[index].click()
    time.sleep(0.3)


def photo(name):
    return np.asarray(Image.fromarray(PHOTOS[name]()).convert("RGB").resize(SIZE))


def on_screen(driver, references):
    """The class whose photo the page's video shows (None before the first frame)."""
    frames = [f for f in find(driver, "iframe") if "webrtc" in (f.get_attribute("title") or "")]
    if not frames:
        return None
    driver.switch_to.frame(frames[0])
    try:
        colour = driver.execute_script(FRAME_COLOUR)
    finally:
        driver.switch_to.default_content()
    if colour is None:
        return None
    distances = {name: np.abs(np.subtract(colour, ref)).sum() for name, ref in references.items()}
    return min(distances, key=distances.get)


def capture_while_shown(driver, name, index, references):
    """Click class ``index``'s Capture while ``name``'s photo is steadily on the camera."""
    deadline = time.monotonic() + 3 * SCENE_SECONDS * len(CLASSES)
    while time.monotonic() < deadline:
        if on_screen(driver, references) == name:
            time.sleep(0.3)
            if on_screen(driver, references) == name:
                click_when_idle(driver, "Capture", index)
                return
        time.sleep(0.2)
    pytest.fail(f"the camera never showed {name}")


def test_teach_loop_captures_trains_and_predicts_live(media_browser, server, artifacts, tmp_path):
    from selenium.webdriver.common.keys import Keys

    scenes = [(photo(name), SCENE_SECONDS) for name in CLASSES]
    video = write_y4m(tmp_path / "three_photos.y4m", scenes, fps=5)
    references = {name: photo(name)[SIZE[1] // 2 :].reshape(-1, 3).mean(axis=0) for name in CLASSES}
    driver = media_browser(f"--use-file-for-fake-video-capture={video}")
    open_page(driver, server, "teach")
    field = '[data-testid="stTextInput"] input'
    box = wait_for(driver, lambda d: find(d, field), 60, "the class names")[0]
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(", ".join(CLASSES), Keys.ENTER)
    wait_for(driver, lambda d: len(buttons(d, "Capture")) == len(CLASSES), 180, "3 classes")
    press_stream_button(driver, "START")
    wait_for(driver, predicted, 120, "frames through the stream")
    start = time.monotonic()
    for index, name in enumerate(CLASSES):
        for _ in range(CAPTURES):
            capture_while_shown(driver, name, index, references)
    wait_for(
        driver,
        lambda d: page_text(d).count(f"{CAPTURES} example(s)") == len(CLASSES),
        120,
        "every capture counted",
    )
    click_when_idle(driver, "Train")
    accuracy = wait_for(driver, lambda d: metric(d, "Held-out accuracy"), 120, "the trained head")
    assert int(accuracy.rstrip("%")) >= 66, accuracy  # one held-out capture of each class

    def live_class(d):
        found = predicted(d)
        return found and found[0].split(" ")[0] in CLASSES and found

    label, rate, _ = wait_for(driver, live_class, 120, "a live prediction of a taught class")
    elapsed = time.monotonic() - start
    assert rate > 0
    (artifacts / "teach_loop.json").write_text(
        json.dumps({"classes": len(CLASSES), "captures_per_class": CAPTURES, "seconds": elapsed})
    )
    print(f"teach loop: first capture -> live prediction {label!r} in {elapsed:.1f} s")
    save_screenshot(driver, artifacts, "teach_live")
    click_when_idle(driver, "Keep as run")
    wait_for(driver, lambda d: "Kept as run:" in page_text(d), 120, "the kept run")
    press_stream_button(driver, "STOP")
