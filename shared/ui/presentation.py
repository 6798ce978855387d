"""Presentation mode and preselected samples, applied by the router before each page runs.

Presentation mode is a sidebar toggle (kept in ``st.session_state`` and in the URL as
``?present=1``) that enlarges results and type for a projector, starts with the sidebar
collapsed, and preloads a good sample on each page: an app's featured sample, or the one
a shared page names with ``presentation_default``. ``?sample=NAME`` in an app page's URL
(Home's one-click samples) preselects that sample once.
"""

import streamlit as st

PRESENTATION_KEY = "presentation_mode"
PRESENT_PARAM = "present"  # ?present=1: the mode survives a reload and can be shared
# Results at least twice their normal size (a metric's value is 36 px normally) and larger than
# their labels; text, inputs and tables readable from the back of a room. A metric's value is
# Markdown inside, so its rule must beat the one for Markdown paragraphs.
LARGE_TYPE_CSS = """
<style>
  .stApp [data-testid="stMarkdownContainer"] p,
  .stApp [data-testid="stMarkdownContainer"] li,
  .stApp [data-testid="stCaptionContainer"],
  .stApp [data-testid="stWidgetLabel"] p { font-size: 1.35rem; line-height: 1.5; }
  .stApp h1 { font-size: 3.4rem; }
  .stApp h2 { font-size: 2.6rem; }
  .stApp h3 { font-size: 2.1rem; }
  .stApp [data-testid="stMetricValue"],
  .stApp [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p {
    font-size: 5rem; line-height: 1.1;
  }
  .stApp [data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"] p { font-size: 1.6rem; }
  .stApp input, .stApp textarea, .stApp [data-baseweb="select"] div { font-size: 1.3rem; }
  .stApp [data-testid="stDataFrame"], .stApp [data-testid="stTable"] { zoom: 1.35; }
</style>
"""


def presentation_requested():
    """True when this session is presenting, or its URL asks for it (``?present=1``)."""
    return st.session_state.get(PRESENTATION_KEY, st.query_params.get(PRESENT_PARAM) == "1")


def presentation_toggle():
    """The sidebar toggle, started from ``?present=1``; while it is on, the large-type CSS
    and ``?present=1`` in the URL (reloads and shared links keep presenting). Returns its
    state."""
    st.session_state.setdefault(PRESENTATION_KEY, presentation_requested())
    with st.sidebar:
        on = st.toggle(
            "Presentation mode",
            key=PRESENTATION_KEY,
            help="Large results for a projector, a sample preloaded on each page; the link "
            "with ?present=1 opens in this mode.",
        )
    if on:
        st.query_params[PRESENT_PARAM] = "1"
        st.html(LARGE_TYPE_CSS)
    elif PRESENT_PARAM in st.query_params:
        del st.query_params[PRESENT_PARAM]
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
