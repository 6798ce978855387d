"""The Home page: what TransferZoo is and one card per app (a Streamlit page script).

Each card gives the app's default model, whether its weights are ready (converted and
cached, bundled and converted on first use, or needing the network) and a one-click sample:
a link to the app's page with ``?sample=NAME``, which the router preselects.
"""

from pathlib import Path

import streamlit as st

from apps import APPS
from shared.runs import list_runs
from shared.ui.widgets import weights_status

INTRO = (
    "TransferZoo is a zoo of small applications built on Keras 3 and transfer learning. "
    "Each app starts from real pretrained weights that ship with a pip package and are "
    "converted once into a native Keras preset, so every default model works offline; "
    "keras-hub presets are one click away when a network is available. Try an app below, "
    "compare models side by side, chain apps together, or fine-tune one on your own data "
    "and pick the run in the app's model list."
)
ROOT = Path(__file__).resolve().parents[1]  # page links are relative to streamlit_app.py
TOOLS = (
    ("app_pages/compare.py", "Compare models", ":material/compare:"),
    ("app_pages/chains.py", "Chain apps", ":material/link:"),
    ("app_pages/train.py", "Train on your data", ":material/model_training:"),
    ("app_pages/runs.py", "Browse runs", ":material/history:"),
    ("app_pages/live.py", "Live camera and microphone", ":material/videocam:"),
    ("app_pages/teach.py", "Teach a classifier", ":material/school:"),
)
BADGES = {"converted": "green", "first use": "blue", "run": "green", "network": "orange"}


def weights_badge(spec):
    """A coloured badge saying whether the default model's weights are ready."""
    if spec.default_model is None:  # it generates from a trained run
        try:
            trained = bool(list_runs(spec.name, include_incomplete=False))
        except (OSError, ValueError):
            trained = False
        return ":green-badge[trained run ready]" if trained else ":orange-badge[needs a run]"
    status = weights_status(spec)
    colour = next((c for word, c in BADGES.items() if word in status), "gray")
    return f":{colour}-badge[{status}]"


def app_card(spec):
    """One bordered card: title, description, default model, weights, links."""
    with st.container(border=True):
        st.subheader(f"{spec.icon} {spec.title}")
        st.write(spec.description)
        if spec.default_model is None:
            st.caption("Generates from a model you train.")
        else:
            st.caption(f"Default model: `{spec.default_model}` — {weights_status(spec)}")
        st.markdown(weights_badge(spec))
        if spec.page is None:
            st.caption("Page coming soon.")
            return
        page = str(spec.page.relative_to(ROOT))
        sample = spec.featured_sample
        if sample is not None:
            st.page_link(
                page,
                label=f"Try it on “{sample}”",
                icon=":material/play_circle:",
                query_params={"sample": sample},
            )
        st.page_link(page, label=f"Open {spec.title}", icon=spec.icon)


def main():
    """Render the Home page."""
    st.title("TransferZoo")
    st.write(INTRO)
    for column, (page, label, icon) in zip(st.columns(len(TOOLS)), TOOLS):
        with column:
            st.page_link(page, label=label, icon=icon)
    columns = st.columns(min(3, max(1, len(APPS))))
    for position, spec in enumerate(APPS):
        with columns[position % len(columns)]:
            app_card(spec)


main()
