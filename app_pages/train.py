"""The Train page: fine-tune an app on a dataset in the background (a Streamlit page script).

Pick an app, a dataset (a small demo set, a folder on the server, an uploaded .zip, or a
TFDS name), a mode and a budget; the training runs as a separate process (``shared.jobs``)
that keeps going when the page is closed, and its run lands in the runs registry.
"""

import hashlib
import re
from pathlib import Path

import streamlit as st

from apps import APPS
from shared.jobs import jobs_root, start_job
from shared.safe_zip import data_root, extract_zip
from shared.ui.inputs import UPLOAD_LIMITS_MB, too_large
from shared.ui.job_view import jobs_section
from shared.ui.training_setup import (
    config_defaults,
    data_help,
    demo_dataset,
    expected_epochs,
    finetune_args,
    mode_choices,
    mode_label,
    trainable_apps,
)
from shared.ui.widgets import show_error
from shared.uploads import prune_uploads

KEY = "train"
APP_PARAM = "app"  # ?app=gan: the app preselected in the form
SOURCES = ("Demo data", "Path on the server", "Upload a .zip", "TFDS dataset")
TFDS_NAME = re.compile(r"[a-z0-9_]+(/[A-Za-z0-9_.+-]+)*(:[0-9.]+)?")
# A source the app names itself (fashion-mnist, bible:en-pt): no slash, so not a path.
NAMED_SOURCE = re.compile(r"[a-z][a-z0-9_-]*(:[A-Za-z0-9_.-]+)?")


def dataset_choice(spec):
    """The dataset widgets: ``(kind, value)`` with kind "demo", "folder", "zip" or "tfds"."""
    sources = SOURCES if spec.demo_data is not None else SOURCES[1:]
    source = st.radio("Dataset", sources, horizontal=True, key=f"{KEY}_source")
    hint = data_help(spec)
    if source == "Demo data":
        st.caption(f"A small synthetic dataset: {spec.demo_data.description}.")
        return "demo", None
    if source == "Path on the server":
        path = st.text_input("Folder or file", key=f"{KEY}_folder", help=f"Expected: {hint}.")
        return "folder", path.strip()
    if source == "Upload a .zip":
        limit = UPLOAD_LIMITS_MB["zip"]
        uploaded = st.file_uploader(
            "Upload a .zip of the dataset",
            type=["zip"],
            max_upload_size=limit,
            key=f"{KEY}_zip",
            help=f"Up to {limit} MB; inside: {hint}.",
        )
        return "zip", uploaded
    name = st.text_input("TFDS name", key=f"{KEY}_tfds", placeholder="tf_flowers")
    return "tfds", name.strip().removeprefix("tfds:")


def extract_upload(uploaded):
    """Extract an uploaded zip once (keyed by its content); the dataset folder or None."""
    if too_large(uploaded, "zip", "Upload a smaller archive, or give a folder on the server."):
        return None
    content = uploaded.getvalue()
    target = jobs_root() / "uploads" / hashlib.sha256(content).hexdigest()[:16]
    if target.is_dir():
        return data_root(target)
    prune_uploads(target.parent)
    try:
        return extract_zip(content, target)
    except ValueError as error:  # UnsafeZipError, or the target appeared meanwhile
        if target.is_dir():  # another session extracted the same archive first
            return data_root(target)
        show_error(f"{uploaded.name} was refused: {error}", hint="Upload a plain .zip dataset.")
        return None


def resolve_dataset(spec, kind, value):
    """The ``--data`` value for ``(kind, value)``, or None after an ``st.error`` saying why."""
    if kind == "demo":
        with st.spinner("Writing the demo dataset…"):
            return str(demo_dataset(spec))
    if kind == "folder":
        if value and NAMED_SOURCE.fullmatch(value) and not Path(value).exists():
            return value  # the app's finetune checks it and says what it accepts
        path = Path(value).expanduser() if value else None
        if path is None or not path.exists():
            show_error(f"No folder or file {value!r} on the server.", hint="Give an existing path.")
            return None
        return str(path.resolve())  # the training process starts in another folder
    if kind == "zip":
        if value is None:
            show_error("No .zip uploaded yet.", hint="Upload the dataset as a .zip file.")
            return None
        folder = extract_upload(value)
        return None if folder is None else str(folder)
    if not TFDS_NAME.fullmatch(value or ""):
        show_error(f"{value!r} is not a TFDS dataset name.", hint="For example: tf_flowers.")
        return None
    return f"tfds:{value}"


def budget_choice(spec):
    """``(epochs, time budget in seconds or None)`` from the budget widgets."""
    default_epochs = int(config_defaults(spec).get("epochs", 10))
    kind = st.radio("Budget", ("Epochs", "Time"), horizontal=True, key=f"{KEY}_budget")
    if kind == "Epochs":
        epochs = st.number_input("Epochs", 1, 1000, min(default_epochs, 5), key=f"{KEY}_epochs")
        return int(epochs), None
    left, right = st.columns(2)
    minutes = left.number_input("Minutes", 0.5, 720.0, 5.0, 0.5, key=f"{KEY}_minutes")
    epochs = right.number_input(
        "At most epochs", 1, 10000, 100, key=f"{KEY}_max_epochs", help="Early stopping may end it"
    )
    return int(epochs), float(minutes) * 60


def start(spec, mode, dataset, budget):
    """Check the dataset and start the job; returns the job or None."""
    data = resolve_dataset(spec, *dataset)
    if data is None:
        return None
    epochs, time_budget_s = budget
    args, total = finetune_args(spec, data, mode=mode, epochs=epochs, time_budget_s=time_budget_s)
    what = f"{epochs} epochs" if time_budget_s is None else f"{time_budget_s / 60:g} min"
    where = "demo data" if dataset[0] == "demo" else Path(data).name or data
    label = f"{spec.title}, {mode_label(mode) if mode else 'default mode'}, {what} on {where}"
    return start_job(
        spec.name,
        args,
        module=spec.finetune_module,
        total_epochs=total,
        time_budget_s=time_budget_s,
        label=label,
    )


def preselect_app(specs):
    """``?app=NAME`` (an app page's "Train" link) selects that app once; the parameter is
    then removed, so the user's own choice stays. A name that does not train is ignored."""
    requested = st.query_params.get(APP_PARAM)
    if requested is None:
        return
    del st.query_params[APP_PARAM]
    if requested in specs:
        st.session_state[f"{KEY}_app"] = requested


def new_job_form():
    """App, mode, dataset and budget, then the Start button."""
    specs = {spec.name: spec for spec in trainable_apps(APPS)}
    titles = {name: spec.title for name, spec in specs.items()}
    preselect_app(specs)
    app = st.selectbox("App", list(specs), format_func=titles.get, key=f"{KEY}_app")
    spec = specs[app]
    modes = mode_choices(spec)
    mode = None
    if modes:
        mode = st.selectbox("Mode", modes, format_func=mode_label, key=f"{KEY}_mode_{app}")
    dataset = dataset_choice(spec)
    budget = budget_choice(spec)
    total = expected_epochs(spec, mode, budget[0])
    if total > budget[0]:  # fine-tuning trains the new head first
        st.caption(
            f"{mode_label(mode)} first trains the new head for {total - budget[0]} epochs, "
            f"then the unfrozen blocks: {total} epochs in all."
        )
    if st.button("Start training", type="primary", key=f"{KEY}_start"):
        job = start(spec, mode, dataset, budget)
        if job is not None:
            st.toast(f"Started {job.label}", icon=":material/model_training:")


def main():
    """Render the page: the new-job form, then the jobs with their progress."""
    st.title(":material/model_training: Train")
    st.caption(
        "Fine-tune an app on your data. Training runs in the background and survives reloads; "
        "the result appears on the Runs page and in each app's model list."
    )
    with st.container(border=True):
        new_job_form()
    jobs_section()


main()
