"""The Image classification page: pick a model and an image, see the top-5 and Grad-CAM.

The model loads through ``shared.ui.widgets.cached_model`` (``st.cache_resource``), never at
the top of this script, so reruns reuse it.
"""

import streamlit as st

from apps.image_classify import SPEC
from apps.image_classify.gradcam import overlay
from apps.image_classify.predictor import Predictor
from apps.image_classify.ui import predictions_table
from shared.ui.result_cache import cached_predict
from shared.ui.widgets import (
    cached_model,
    image_input,
    model_selector,
    probability_table,
    show_error,
)

TOP_K = 5


def render_predictions(result):
    """Top class, latency, a horizontal bar chart and a table of the top-k classes."""
    table = predictions_table(result, with_index=True)
    best = result.predictions[0]
    top, latency = st.columns(2)
    top.metric("Top class", best.label, f"{best.score:.1%}", delta_color="off")
    latency.metric("Latency", f"{result.latency_ms:.0f} ms")
    st.bar_chart(table, x="label", y="probability", horizontal=True, sort="-probability")
    probability_table(table)


def render_gradcam(image, predictor):
    """The Grad-CAM overlay of the top class, or a note when the backbone has no CNN map."""
    try:
        with st.spinner("Computing Grad-CAM…"):
            heatmap = predictor.gradcam(image)
    except Exception as error:  # ViT/DeiT tokens, heads without a pooler: explain, not crash
        st.info(f"Grad-CAM is not available for this model: {error}")
        return
    st.image(overlay(image, heatmap), caption="Grad-CAM: where the top class was seen")


def render_result(image, source, predictor):
    """Classify ``image`` with ``predictor`` and show the image, the top-k and Grad-CAM."""
    try:
        result = cached_predict(predictor, image, app=SPEC.name, model=predictor.ref, top_k=TOP_K)
    except ValueError as error:
        show_error(error, hint="Try another image or another model.")
        return
    left, right = st.columns(2)
    with right:
        render_predictions(result)
        show_cam = st.toggle("Grad-CAM", key="image_classify_gradcam")
    with left:
        st.image(image, caption=f"{source} ({image.shape[1]}×{image.shape[0]})")
        if show_cam:
            render_gradcam(image, predictor)


def main():
    """Render the page: model choice in the sidebar, image input, then the results."""
    st.title(f"{SPEC.icon} {SPEC.title}")
    st.caption(SPEC.description)
    with st.sidebar:
        ref = model_selector(SPEC, key="image_classify_model")
    image, source = image_input(SPEC.name, SPEC.samples)
    if image is None:
        if source is None:  # nothing given yet (a bad file already shows its error)
            st.info("Upload an image, take a photo, or pick a sample to classify it.")
        return
    predictor = cached_model(Predictor.load, ref, spec=SPEC)
    if predictor is not None:
        render_result(image, source, predictor)


main()
