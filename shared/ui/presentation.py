"""Presentation mode and preselected samples, applied by the router before each page runs.

Presentation mode is a sidebar toggle (kept in ``st.session_state``) that enlarges the type
for a projector and preloads a good sample on each page: an app's featured sample, or the one
a shared page names with ``presentation_default``. ``?sample=NAME`` in an app page's URL
(Home's one-click samples) preselects that sample once.
"""

import streamlit as st

PRESENTATION_KEY = "presentation_mode"
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


def presentation_default(key, value):
    """In presentation mode, fill the widget ``key`` with ``value`` unless a choice was made."""
    if st.session_state.get(PRESENTATION_KEY):
        st.session_state.setdefault(key, value)


def apply_app_presets(spec):
    """Preselect app ``spec``'s sample on its page: from ``?sample=``, else its featured one in
    presentation mode.

    A query-string sample is applied once and removed from the URL, so the user's own choice
    afterwards is kept; a name the page does not offer is ignored rather than shown as an
    unknown choice. Presentation mode only fills a choice that was not made yet.
    """
    requested = st.query_params.get("sample")
    if requested is not None:
        del st.query_params["sample"]
        if requested in spec.samples:
            st.session_state[spec.sample_key] = requested
            return
    if spec.featured_sample is not None:
        presentation_default(spec.sample_key, spec.featured_sample)
