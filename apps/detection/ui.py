"""What the pages use of detection: its samples, its compact view, its demo data."""

import functools

from apps.detection.predictor import draw_detections
from apps.detection.scenes import make_scenes, write_voc
from shared.app_spec import DemoData
from shared.ui.samples import image_samples

SCENE_SEED = 3  # all three shapes, on a crop of the coffee photo
SCENE_NAME = "synthetic scene (shapes)"
# The coffee cup and the motorbike for the default YOLO, the astronaut's face for MTCNN.
PHOTOS = ("coffee", "motorcycle_left", "astronaut", "chelsea", "rocket")


def load_scene(seed=SCENE_SEED):
    """A 256×256 synthetic scene of circles, squares and triangles."""
    return make_scenes(1, image_size=256, seed=seed).samples[0].image


SAMPLES = image_samples(PHOTOS) | {SCENE_NAME: functools.partial(load_scene)}


def render_compact(result, image):
    """The image with its boxes drawn, and the count."""
    import streamlit as st

    st.image(draw_detections(image, result.detections), caption=f"{result.model}")
    st.metric("Detections", len(result.detections))


def summary(result):
    """``3 found: cat, dog``."""
    labels = sorted({found.label for found in result.detections})
    return f"{len(result.detections)} found" + (f": {', '.join(labels)}" if labels else "")


def write_demo_data(folder):
    """32 synthetic scenes with their VOC box files."""
    write_voc(make_scenes(32, image_size=128, seed=0), folder)


DEMO_DATA = DemoData(
    "synthetic scenes of circles, squares and triangles (VOC boxes, 32 images)", write_demo_data
)
