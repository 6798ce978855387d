"""The Stage page: one input through several apps at once, each result big (a Streamlit page).

For presenting to a room: the input comes from the sidebar (a sample, an upload or a camera
photo), and each app that takes it shows its result in a panel of its own, side by side: a
photo through classification and detection. In presentation mode (``?present=1``) the
panels fit a 1280×720 projector. Models load through ``shared.ui.render`` (the same cached
loaders as the Compare page); each panel is the app's compact view.
"""

import streamlit as st

from apps import APPS
from shared.ui.inputs import modality_input
from shared.ui.presentation import PRESENTATION_KEY
from shared.ui.render import predict
from shared.ui.text import escape_markdown

KEY = "stage"
MODALITY_TITLES = {"image": "Image", "audio": "Audio", "text": "Text"}
# The sample each input opens on: the coffee photo has something for every image app
# (the classifier sees an espresso, the detector a cup).
OPENING_SAMPLES = {"image": "coffee"}
INPUT_WIDTH = 0.7  # the input's column, against 1 for each panel
# Presenting: a small title, and images and tables kept within the panels, so that every
# panel's result fits above the fold of a 1280×720 projector.
STAGE_CSS = """
<style>
  .stApp [data-testid="stMainBlockContainer"] { padding-top: 3.5rem; padding-bottom: 1rem; }
  .stApp h1 { font-size: 1.8rem; padding: 0 0 0.75rem 0; }
  .stApp h3 { font-size: 1.8rem; padding: 0 0 0.5rem 0; }
  .stApp [data-testid="stImage"] img { max-height: 30vh; width: auto; max-width: 100%; }
  .stApp [data-testid="stDataFrame"] { zoom: 1; }
</style>
"""


def stage_specs(modality):
    """The apps that take ``modality`` and have a compact view, in the registry's order."""
    return [spec for spec in APPS if spec.compact is not None and spec.modality == modality]


def modalities():
    """The input kinds at least one app with a compact view takes, images first."""
    kinds = {spec.modality for spec in APPS if spec.compact is not None}
    return [kind for kind in MODALITY_TITLES if kind in kinds]


def sidebar_choices():
    """The input kind and the apps to show: ``(modality, [spec])``."""
    modality = st.selectbox(
        "Input", modalities(), format_func=MODALITY_TITLES.get, key=f"{KEY}_modality"
    )
    specs = {spec.name: spec for spec in stage_specs(modality)}
    names = st.multiselect(
        "Panels",
        list(specs),
        default=list(specs),
        format_func=lambda name: specs[name].title,
        key=f"{KEY}_panels_{modality}",
        help="Each app shows its default model's result on the input.",
    )
    return modality, [specs[name] for name in names]


def show_input(modality, value, name):
    """The input itself, in the first column."""
    st.subheader("Input")
    if modality == "image":
        st.image(value, caption=f"{name} ({value.shape[1]}×{value.shape[0]})")
    elif modality == "audio":
        from shared.audio import TARGET_SAMPLE_RATE

        st.audio(value, sample_rate=TARGET_SAMPLE_RATE)
        st.caption(f"{name} ({len(value) / TARGET_SAMPLE_RATE:.1f} s)")
    else:
        st.markdown(f"> {escape_markdown(value)}")


def show_panel(spec, value, outcome):
    """One app's result: its title (the model in its tooltip), its compact view, and a line
    saying it in words with the latency."""
    st.subheader(spec.title, help=f"Model: {spec.default_model}")
    if outcome is None:  # the model did not load or refused the input (an error says why)
        return
    _, result = outcome
    spec.compact.render(result, value)
    st.caption(f"{spec.compact.summary(result)} · {result.latency_ms:.0f} ms")


def render_stage(modality, specs, value, name):
    """The input and one panel per app, side by side; every model predicts before any
    panel is drawn (as on the Compare page). Returns the outcomes."""
    columns = st.columns([INPUT_WIDTH] + [1] * len(specs), gap="medium")
    with columns[0]:
        show_input(modality, value, name)
    outcomes = []
    for column, spec in zip(columns[1:], specs):
        with column:
            outcomes.append(predict(spec, spec.default_model, value, name))
    for column, spec, outcome in zip(columns[1:], specs, outcomes):
        with column:
            show_panel(spec, value, outcome)
    return outcomes


def main():
    """Render the page: input and panels in the sidebar, then the panels side by side."""
    if st.session_state.get(PRESENTATION_KEY):
        st.html(STAGE_CSS)
    st.title(":material/co_present: Stage")
    with st.sidebar:
        modality, specs = sidebar_choices()
        if modality in OPENING_SAMPLES:
            st.session_state.setdefault(f"{KEY}_{modality}_sample", OPENING_SAMPLES[modality])
        value, name = modality_input(modality, f"{KEY}_{modality}")
    if not specs:
        st.info("Pick at least one app under Panels in the sidebar.")
        return
    if value is None:
        if name is None:  # nothing given yet (a bad file already shows its error)
            st.info("Upload an input, take a photo or pick a sample in the sidebar.")
        return
    render_stage(modality, specs, value, name)


main()
