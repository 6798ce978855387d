"""Presentation mode and preselected samples, applied by the router before each page runs.

Presentation mode is a sidebar toggle (kept in ``st.session_state``) that enlarges the type
for a projector and preloads a good sample on each app page. ``?sample=NAME`` in a page's URL
(Home's one-click samples) preselects that sample once.
"""

import streamlit as st

from shared.ui.samples import page_sample

PRESENTATION_KEY = "presentation_mode"
# Presentation mode's sample per page (the widget key, the value); names from the pages.
PRESENTATION_SAMPLES = {
    "image_classify": ("image_classify_sample", "chelsea"),
    "detection": ("detection_sample", "astronaut"),
    "compare": ("compare_image_sample", "chelsea"),
    "chains": ("chain_image_sample", "astronaut"),
    "translate": ("translate_sample_en", "Travel"),
}
LARGE_TYPE_CSS = """
<style>
  .stApp [data-testid="stMarkdownContainer"] p,
  .stApp [data-testid="stMarkdownContainer"] li,
  .stApp [data-testid="stCaptionContainer"],
  .stApp [data-testid="stWidgetLabel"] p { font-size: 1.35rem; line-height: 1.5; }
  .stApp h1 { font-size: 3.4rem; }
  .stApp h2 { font-size: 2.6rem; }
  .stApp h3 { font-size: 2.1rem; }
  .stApp [data-testid="stMetricValue"] { font-size: 3rem; }
  .stApp [data-testid="stMetricLabel"] p { font-size: 1.4rem; }
  .stApp [data-testid="stDataFrame"] { font-size: 1.2rem; }
</style>
"""


def presentation_toggle():
    """The sidebar toggle; injects the large-type CSS while it is on. Returns its state."""
    with st.sidebar:
        on = st.toggle(
            "Presentation mode",
            key=PRESENTATION_KEY,
            help="Larger type for a projector, and a sample preloaded on each page.",
        )
    if on:
        st.html(LARGE_TYPE_CSS)
    return on


def apply_page_presets(page_name, presentation):
    """Preselect the sample of page ``page_name``: from ``?sample=``, else presentation mode's.

    A query-string sample is applied once and removed from the URL, so the user's own choice
    afterwards is kept; presentation mode only fills a choice that was not made yet.
    """
    requested = st.query_params.get("sample")
    if requested is not None:
        del st.query_params["sample"]
        preset = page_sample(page_name, requested)
        if preset is not None:
            key, value = preset
            st.session_state[key] = value
            return
    if presentation and page_name in PRESENTATION_SAMPLES:
        key, value = PRESENTATION_SAMPLES[page_name]
        st.session_state.setdefault(key, value)
