"""The Compare page: one input, several models side by side (a Streamlit page script).

Either several models of one app (the bundled EfficientNet-Lite0/1/2, fine-tuned runs, hub
presets) or the default models of several apps that take the same kind of input (an image
through classification and detection). Each column shows the output, the latency, the
parameter count and, for a fine-tuned run, its stored metric; a table sums them up.
"""

import pandas as pd
import streamlit as st

from apps import APPS
from shared.audio import TARGET_SAMPLE_RATE
from shared.ui.inputs import modality_input
from shared.ui.presentation import presentation_default
from shared.ui.render import predict, render
from shared.ui.text import escape_markdown
from shared.ui.widgets import model_choices, show_online_models

KEY = "compare"
MAX_COLUMNS = 4
MODES = ("Models of one app", "Apps on one input")
MODALITY_TITLES = {"image": "Image", "audio": "Audio", "text": "Text"}


def comparable_specs():
    """The apps that take one input and give one result (those with a compact view)."""
    return [spec for spec in APPS if spec.compact is not None]


def default_refs(spec, choices):
    """The bundled image models (the EfficientNet-Lite family), else the default model.

    Other apps' bundled models are not alternatives for one input (translation's are two
    directions), so they start with their default alone.
    """
    bundled = [ref for ref in choices if ref.startswith("bundled:")][:MAX_COLUMNS]
    return bundled if spec.modality == "image" and len(bundled) > 1 else [spec.default_model]


def models_of_one_app(specs):
    """Sidebar choices: one app and up to four of its models; ``[(spec, ref)]``, modality."""
    titles = {spec.name: spec.title for spec in specs}
    name = st.selectbox("App", list(titles), format_func=titles.get, key=f"{KEY}_app")
    spec = next(spec for spec in specs if spec.name == name)
    box = st.container()
    labels = dict(model_choices(spec, online=show_online_models(f"{KEY}_online_{name}")))
    refs = box.multiselect(
        "Models",
        list(labels),
        default=default_refs(spec, labels),
        format_func=lambda ref: labels.get(ref, ref),
        max_selections=MAX_COLUMNS,
        key=f"{KEY}_models_{name}",
        help="Models marked offline work without a network; hub presets download once.",
    )
    return [(spec, ref) for ref in refs], spec.modality


def apps_on_one_input(specs):
    """Sidebar choices: a modality and its apps' default models; ``[(spec, ref)]``, modality."""
    modalities = sorted({spec.modality for spec in specs}, key=list(MODALITY_TITLES).index)
    modality = st.selectbox(
        "Input", modalities, format_func=MODALITY_TITLES.get, key=f"{KEY}_modality"
    )
    chosen = [spec for spec in specs if spec.modality == modality]
    st.caption("Each app with its default model: " + ", ".join(s.title for s in chosen))
    return [(spec, spec.default_model) for spec in chosen], modality


def show_input(modality, value, name):
    """The input once, above the columns."""
    if modality == "image":
        st.image(value, caption=f"{name} ({value.shape[1]}×{value.shape[0]})", width=360)
    elif modality == "audio":
        st.audio(value, sample_rate=TARGET_SAMPLE_RATE)
        st.caption(f"{name} ({len(value) / TARGET_SAMPLE_RATE:.1f} s)")
    else:
        st.markdown(f"> {escape_markdown(value)}")


def render_columns(pairs, value, name):
    """One column per ``(spec, ref)``; returns the summary rows of the models that ran.

    Every model predicts before any result is drawn (see ``shared.ui.render.predict``).
    """
    columns = st.columns(len(pairs))
    outcomes = []
    for column, (spec, ref) in zip(columns, pairs):
        with column:
            st.subheader(ref.removeprefix("bundled:"))
            st.caption(spec.title)
            outcomes.append(predict(spec, ref, value, name))
    rows = []
    for column, (spec, ref), outcome in zip(columns, pairs, outcomes):
        if outcome is not None:
            with column:
                rows.append(render(spec, ref, value, *outcome))
    return rows


def render_summary(rows):
    """The side-by-side table: output, latency, parameters, run metric."""
    if len(rows) < 2:
        return
    st.subheader("Summary")
    table = pd.DataFrame(rows)
    table["parameters"] = table["parameters"].map(
        lambda count: f"{count:,}" if pd.notna(count) and count else "—"
    )
    st.dataframe(table, hide_index=True)


def main():
    """Render the page: what to compare in the sidebar, the input, then the columns."""
    st.title(":material/compare: Compare")
    st.caption("One input, several models side by side: outputs, latency, size, metrics.")
    specs = comparable_specs()
    presentation_default(f"{KEY}_image_sample", "chelsea")
    with st.sidebar:
        mode = st.radio("Compare", MODES, key=f"{KEY}_mode")
        pairs, modality = (models_of_one_app if mode == MODES[0] else apps_on_one_input)(specs)
    if not pairs:
        st.info("Pick at least one model in the sidebar.")
        return
    value, name = modality_input(modality, f"{KEY}_{modality}")
    if value is None:
        if name is None:  # nothing given yet (a bad file already shows its error)
            st.info("Upload an input, or pick a sample, to compare the models on it.")
        return
    input_slot = st.container()  # filled after the timed predictions (see render_columns)
    rows = render_columns(pairs, value, name)
    with input_slot:
        show_input(modality, value, name)
    render_summary(rows)


main()
