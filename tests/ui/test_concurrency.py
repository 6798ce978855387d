"""Ten sessions at once: predictions through the pages' cached loader load each model once.

Sessions are threads calling ``shared.ui.widgets.cached_model`` (the loader every page uses,
``st.cache_resource``), as Streamlit's server does with one script thread per session.
``AppTest`` itself cannot run in parallel threads (it creates and removes a process-wide
runtime on each run), so the pages are not driven here.
"""

import collections
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from skimage import data

from apps.detection import SPEC as DETECTION
from apps.detection.predictor import Predictor as Detector
from apps.image_classify import SPEC as IMAGE_CLASSIFY
from apps.image_classify.predictor import Predictor as Classifier
from shared.ui import widgets

SESSIONS = 10
CAT_CLASSES = ("tabby", "tiger cat", "Egyptian cat")

pytestmark = pytest.mark.real_weights


class CountingLoader:
    """Wraps ``Predictor.load``, counting the loads per reference (thread-safe)."""

    def __init__(self, load, name):
        self.load, self.loads, self.lock = load, collections.Counter(), threading.Lock()
        self.__module__, self.__qualname__ = __name__, name  # its own cache entries

    def __call__(self, ref):
        with self.lock:
            self.loads[ref] += 1
        return self.load(ref)


def session(index, classify, detect):
    """One user: load through the pages' cached loader, then predict three times."""
    if index % 2 == 0:
        ref, spec, image = "bundled:efficientnet_lite0", IMAGE_CLASSIFY, data.chelsea()
        predictor = widgets.cached_model(classify, ref, spec=spec)
        return [predictor.predict(image).predictions[0].label for _ in range(3)]
    predictor = widgets.cached_model(detect, "bundled:mtcnn_faces", spec=DETECTION)
    image = data.astronaut()
    return [len(predictor.predict(image).detections) for _ in range(3)]


def test_ten_sessions_share_one_load_per_model():
    widgets._load_model.clear()
    classify = CountingLoader(Classifier.load, "CountingLoader.classify")
    detect = CountingLoader(Detector.load, "CountingLoader.detect")
    barrier = threading.Barrier(SESSIONS)

    def start_together(index):
        barrier.wait(timeout=60)  # all ten ask for their model at the same moment
        return session(index, classify, detect)

    with ThreadPoolExecutor(SESSIONS) as pool:
        results = list(pool.map(start_together, range(SESSIONS)))
    assert classify.loads == {"bundled:efficientnet_lite0": 1}
    assert detect.loads == {"bundled:mtcnn_faces": 1}
    labels = {label for result in results[0::2] for label in result}
    assert len(labels) == 1 and labels <= set(CAT_CLASSES), labels
    assert {count for result in results[1::2] for count in result} == {1}  # one face
