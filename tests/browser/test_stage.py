"""The Stage page on a 1280×720 projector, in a real browser, and its README screenshot."""

import pytest

from tests.browser.test_browser import find, metric, open_page, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.real_weights]

# The bounding box of every element matching a selector, and the viewport's size.
BOXES = """
const boxes = [...document.querySelectorAll(arguments[0])].map(element => {
  const box = element.getBoundingClientRect();
  return [element.innerText || element.tagName, box.left, box.top, box.right, box.bottom];
});
return [boxes, window.innerWidth, window.innerHeight];
"""
RESULTS = (
    '[data-testid="stMetric"]',  # the top class and the detection count
    '[data-testid="stImage"] img',  # the input and the photo with its boxes
)


def results_ready(driver):
    return (
        metric(driver, "Top class")
        and metric(driver, "Detections")
        and "cup" in (driver.find_element("tag name", "body").text)
    )


def test_stage_shows_every_panel_above_the_fold_at_1280_by_720(browser, server, screenshot):
    browser.set_window_size(1280, 720)
    open_page(browser, server, "stage?present=1")
    wait_for(browser, results_ready, what="the classification and detection panels")
    assert metric(browser, "Top class") == "espresso"
    assert int(metric(browser, "Detections")) >= 1
    boxes = []
    for selector in RESULTS:
        found, width, height = browser.execute_script(BOXES, selector)
        boxes += found
    assert len(boxes) == 4, boxes  # two metrics, two images
    captions, _, _ = browser.execute_script(BOXES, '[data-testid="stCaptionContainer"]')
    boxes += [box for box in captions if "found: cup" in box[0]]  # detection in words
    assert len(boxes) == 5, captions
    outside = [box for box in boxes if box[3] > width or box[4] > height or box[1] < 0]
    assert not outside, (outside, width, height)
    panels = [element.text for element in find(browser, "h3")]
    assert panels[:3] == ["Input", "Image classification", "Object detection"], panels
    screenshot("stage_presentation")
