"""The Object detection page: pick a detector and an image, see the boxes, a table and timing.

The model loads through ``shared.ui.widgets.cached_model`` (``st.cache_resource``), never at
the top of this script, so reruns reuse it. The detector runs once per image, model and IoU
threshold at the lowest score threshold; the score slider only filters that result, so moving
it never runs the model again. The samples are scikit-image's bundled photos (a
cup and a motorbike for the default YOLO, the astronaut's face for MTCNN) and one synthetic
scene of coloured shapes, which a detector fine-tuned on such scenes finds.
"""

import dataclasses
import hashlib

import pandas as pd
import streamlit as st

from apps.detection import SPEC
from apps.detection.predictor import Predictor, draw_detections
from shared.ui.result_cache import cached_predict
from shared.ui.widgets import cached_model, image_input, model_selector, show_error

KEY = "detection"
SHOWN_CLASSES = 12
TABLE_COLUMNS = ("label", "score", "x1", "y1", "x2", "y2")
SCORE_MIN, SCORE_MAX = 0.05, 0.95
RAW_KEY = f"{KEY}_raw_result"


def detections_table(result):
    """One row per detection: label, score and the box corners in pixels (best first)."""
    rows = [
        (found.label, found.score, *(round(float(value), 1) for value in found.box))
        for found in result.detections
    ]
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def sidebar_options():
    """The model reference and the two thresholds chosen in the sidebar."""
    with st.sidebar:
        ref = model_selector(SPEC, key=f"{KEY}_model")
        score = st.slider(
            "Score threshold",
            SCORE_MIN,
            SCORE_MAX,
            0.5,
            0.05,
            key=f"{KEY}_score",
            help="Detections scoring below this are hidden.",
        )
        iou = st.slider(
            "NMS IoU threshold",
            0.1,
            0.9,
            0.5,
            0.05,
            key=f"{KEY}_iou",
            help="Boxes of one class overlapping more than this are merged into the best one.",
        )
    return ref, score, iou


def render_detections(result):
    """The count and latency; a note when nothing scores above the threshold."""
    count, latency = st.columns(2)
    count.metric("Detections", len(result.detections))
    latency.metric("Latency", f"{result.latency_ms:.0f} ms")
    if not result.detections:
        st.info("Nothing found: lower the score threshold, or try another image or model.")


def render_table(result):
    """The detections as a table as wide as the page (numbers narrow, the label wide)."""
    numbers = {
        name: st.column_config.NumberColumn(name, format="%.0f", width="small")
        for name in TABLE_COLUMNS[2:]
    }
    st.dataframe(
        detections_table(result),
        hide_index=True,
        width="stretch",
        column_config={
            "label": st.column_config.TextColumn("label", width="medium"),
            "score": st.column_config.ProgressColumn(
                "score", format="percent", min_value=0.0, max_value=1.0, width="small"
            ),
            **numbers,
        },
    )


def detect_all(image, source, predictor, iou):
    """Every detection of ``image`` down to the lowest score threshold, computed once.

    The result is kept in the session keyed by the image's digest, the model and ``iou``,
    so that only a new image, model or IoU threshold runs the detector again.
    """
    key = (hashlib.sha256(image.tobytes()).hexdigest(), image.shape, predictor.ref, iou)
    cached = st.session_state.get(RAW_KEY)
    if cached is None or cached[0] != key:
        result = cached_predict(
            predictor,
            image,
            app=SPEC.name,
            model=predictor.ref,
            score_threshold=SCORE_MIN,
            iou_threshold=iou,
        )
        st.session_state[RAW_KEY] = cached = (key, result)
    return dataclasses.replace(cached[1], source=source)


def above(result, score):
    """``result`` keeping only the detections scoring at least ``score``."""
    kept = [found for found in result.detections if found.score >= score]
    return dataclasses.replace(result, detections=kept)


def render_result(image, source, predictor, score, iou):
    """Detect in ``image`` and show the drawn image beside the count and latency, then
    the table of detections scoring at least ``score``."""
    try:
        result = above(detect_all(image, source, predictor, iou), score)
        drawn = draw_detections(image, result.detections)
    except ValueError as error:
        show_error(error, hint="Try another image or another model.")
        return
    left, right = st.columns([3, 2])
    with left:
        st.image(drawn, caption=f"{source} ({image.shape[1]}×{image.shape[0]})")
    with right:
        render_detections(result)
        names = predictor.class_names
        more = f" and {len(names) - SHOWN_CLASSES} more" if len(names) > SHOWN_CLASSES else ""
        st.caption(f"{predictor.ref} finds: {', '.join(names[:SHOWN_CLASSES])}{more}.")
    if result.detections:
        render_table(result)


def main():
    """Render the page: model and thresholds in the sidebar, image input, then the results."""
    st.title(f"{SPEC.icon} {SPEC.title}")
    st.caption(SPEC.description)
    ref, score, iou = sidebar_options()
    image, source = image_input(SPEC.name, SPEC.samples)
    if image is None:
        if source is None:  # nothing given yet (a bad file already shows its error)
            st.info("Upload an image, take a photo, or pick a sample to detect objects in it.")
        return
    predictor = cached_model(Predictor.load, ref, spec=SPEC)
    if predictor is not None:
        render_result(image, source, predictor, score, iou)


main()
