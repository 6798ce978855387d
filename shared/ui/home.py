"""The Home page: what TransferZoo is and one card per app (a Streamlit page script).

Each card gives the app's default model, whether its weights are ready (converted and
cached, bundled and converted on first use, or needing the network) and a one-click sample:
a link to the app's page with ``?sample=NAME``, which the router preselects.
"""

from pathlib import Path

import streamlit as st

from apps import APPS
from shared.runs import list_runs
from shared.ui.samples import PAGE_SAMPLES
from shared.ui.widgets import weights_status

ROOT = Path(__file__).resolve().parents[2]

INTRO = (
    "TransferZoo is a zoo of small applications built on Keras 3 and transfer learning. "
    "Each app starts from real pretrained weights that ship with a pip package and are "
    "converted once into a native Keras preset, so every default model works offline; "
    "keras-hub presets are one click away when a network is available. Try an app below, "
    "compare models side by side, chain apps together, or fine-tune one on your own data "
    "and pick the run in the app's model list."
)
TOOLS = (
    ("shared/ui/compare.py", "Compare models", ":material/compare:"),
    ("shared/ui/chains.py", "Chain apps", ":material/link:"),
    ("shared/ui/train.py", "Train on your data", ":material/model_training:"),
    ("shared/ui/runs_page.py", "Browse runs", ":material/history:"),
)
BADGES = {"converted": "green", "first use": "blue", "run": "green", "network": "orange"}


def weights_badge(spec):
    """A coloured badge saying whether the default model's weights are ready."""
    if spec.name == "gan":  # generates from a trained run; its bundled model is a feature net
        try:
            trained = bool(list_runs("gan", include_incomplete=False))
        except (OSError, ValueError):
            trained = False
        return ":green-badge[trained run ready]" if trained else ":orange-badge[needs a run]"
    status = weights_status(spec)
    colour = next((c for word, c in BADGES.items() if word in status), "gray")
    return f":{colour}-badge[{status}]"


def app_card(spec):
    """One bordered card: title, description, default model, weights, links."""
    page_file = ROOT / "apps" / spec.name / "page.py"
    with st.container(border=True):
        st.subheader(f"{spec.icon} {spec.title}")
        st.write(spec.description)
        st.caption(f"Default model: `{spec.default_model}` — {weights_status(spec)}")
        st.markdown(weights_badge(spec))
        if not page_file.is_file():
            st.caption("Page coming soon.")
            return
        page = f"apps/{spec.name}/page.py"
        if spec.name in PAGE_SAMPLES:
            sample = PAGE_SAMPLES[spec.name][1][0]
            st.page_link(
                page,
                label=f"Try it on “{sample}”",
                icon=":material/play_circle:",
                query_params={"sample": sample},
            )
        elif spec.modality != "latent":  # the app pages open on their first sample
            st.page_link(page, label="Try it on a sample", icon=":material/play_circle:")
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
