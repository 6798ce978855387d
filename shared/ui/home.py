"""The Home page: what TransferZoo is and one card per app (a Streamlit page script)."""

from pathlib import Path

import streamlit as st

from apps import APPS
from shared.ui.widgets import weights_status

ROOT = Path(__file__).resolve().parents[2]

INTRO = (
    "TransferZoo is a zoo of small applications built on Keras 3 and transfer learning. "
    "Each app starts from real pretrained weights that ship with a pip package and are "
    "converted once into a native Keras preset, so every default model works offline; "
    "keras-hub presets are one click away when a network is available. Try an app below, "
    "or fine-tune one on your own data from the command line "
    "(`python -m apps.<app>.finetune --data FOLDER`) and pick the run here."
)


def app_card(spec):
    """One bordered card: icon and title, description, default model and its weights."""
    page_file = ROOT / "apps" / spec.name / "page.py"
    with st.container(border=True):
        st.subheader(f"{spec.icon} {spec.title}")
        st.write(spec.description)
        st.caption(f"Default model: `{spec.default_model}` — {weights_status(spec)}")
        if page_file.is_file():
            st.page_link(f"apps/{spec.name}/page.py", label=f"Open {spec.title}", icon=spec.icon)
        else:
            st.caption("Page coming soon.")


def main():
    """Render the Home page."""
    st.title("TransferZoo")
    st.write(INTRO)
    columns = st.columns(min(3, max(1, len(APPS))))
    for position, spec in enumerate(APPS):
        with columns[position % len(columns)]:
            app_card(spec)


main()
