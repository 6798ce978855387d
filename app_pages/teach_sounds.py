"""The Teach page's Sounds mode: name a few classes, record (or upload) a few clips of each,
train a classifier in seconds and try it on a new recording.

Each clip becomes the Whisper encoder's pooled features once (cached); training fits only a
new head on them (``apps.speech.teach``). "Keep as run" saves an ordinary speech classifier
run, listed on the Runs page and selectable in Speech to text.
"""

import streamlit as st

from apps.speech.teach import CLIP_SECONDS, DEFAULT_MODEL, SoundTeacher, check_class_names
from shared.runs import open_run
from shared.ui.audio import AUDIO_TYPES, decode_upload
from shared.ui.page_state import session_object
from shared.ui.run_files import render_exports
from shared.ui.widgets import show_error

KEY = "teach_sounds"
DEFAULT_CLASSES = "Class 1, Class 2"


def sound_teacher():
    """This session's ``SoundTeacher`` (its examples are the user's own)."""
    return session_object(
        f"{KEY}_teacher",
        lambda: SoundTeacher(DEFAULT_MODEL),
        preparing=f"Preparing {DEFAULT_MODEL}'s encoder…",
        hint="The default speech model's weights are needed to teach.",
    )


def _add_new(teach, name, uploads):
    """Add each recording or upload not seen before as an example of ``name``."""
    done = st.session_state.setdefault(f"{KEY}_seen", set())
    for uploaded in uploads:
        if uploaded is None or (name, uploaded.file_id) in done:
            continue
        done.add((name, uploaded.file_id))
        audio, _ = decode_upload(uploaded)
        if audio is not None:
            teach.add(name, audio)


def example_column(teach, name, index):
    st.markdown(f"**{name}**")
    recorded = st.audio_input("Record an example", key=f"{KEY}_record_{index}_{name}")
    uploads = st.file_uploader(
        "or upload clips",
        type=AUDIO_TYPES,
        accept_multiple_files=True,
        key=f"{KEY}_upload_{index}_{name}",
    )
    _add_new(teach, name, [recorded, *(uploads or [])])
    st.caption(f"{teach.counts().get(name, 0)} example(s)")


@st.fragment
def example_columns(teach, names):
    """A recorder and an uploader per class; a new example reruns only this part."""
    for index, (column, name) in enumerate(zip(st.columns(len(names)), names)):
        with column:
            example_column(teach, name, index)


def train(teach, names):
    try:
        with st.spinner("Training the head on the cached features…"):
            metrics = teach.train(names)
    except ValueError as error:
        show_error(error, hint="Record or upload examples of every class.")
        return
    st.session_state[f"{KEY}_metrics"] = metrics
    st.session_state.pop(f"{KEY}_run", None)


def try_it(teach):
    st.subheader("Try it")
    recorded = st.audio_input("Record a new clip", key=f"{KEY}_try_record")
    uploaded = st.file_uploader("or upload one", type=AUDIO_TYPES, key=f"{KEY}_try_upload")
    audio, source = decode_upload(recorded or uploaded)
    if audio is None:
        st.caption("Record or upload a clip to hear what the classifier says.")
        return
    name, score = teach.predict(audio)
    st.metric(f"Prediction for {source}", name, f"{score:.0%} sure", delta_color="off")


def show_training(teach):
    metrics = st.session_state.get(f"{KEY}_metrics")
    if metrics is None or teach.trained is None:
        return
    accuracy, held, seconds = st.columns(3)
    accuracy.metric("Held-out accuracy", f"{metrics['accuracy']:.0%}")
    held.metric("Held out", f"{metrics['held_out']} of {metrics['examples']}")
    seconds.metric("Training", f"{metrics['train_seconds']:.1f} s")
    try_it(teach)
    if st.button("Keep as run", key=f"{KEY}_keep"):
        with st.spinner("Saving the run…"):
            run = teach.keep(metrics, name="taught sounds: " + ", ".join(teach.trained[1]))
        st.session_state[f"{KEY}_run"] = run.ref
    if ref := st.session_state.get(f"{KEY}_run"):
        st.success(f"Kept as `{ref}`: pick it in Speech to text, or see it on Runs.")
        render_exports(open_run(ref))


def render():
    """The Sounds mode, below the page's title."""
    st.caption(
        "Name your classes, record a few examples of each with the microphone (or upload "
        "clips), then train: a new head learns on Whisper's encoder features in seconds. "
        f"Each clip is cut or padded to {CLIP_SECONDS} seconds."
    )
    text = st.text_input("Classes (comma-separated)", DEFAULT_CLASSES, key=f"{KEY}_classes")
    try:
        names = check_class_names([name for name in text.split(",") if name.strip()])
    except ValueError as error:
        show_error(error, hint="For example: clap, whistle, silence")
        return
    teach = sound_teacher()
    if teach is None:
        return
    example_columns(teach, names)
    train_button, reset_button = st.columns([1, 5])
    if reset_button.button("Start over", key=f"{KEY}_reset", help="Forget every example"):
        teach.examples.clear()
        teach.trained = None
        for name in ("metrics", "run"):  # recordings and uploads already seen stay seen
            st.session_state.pop(f"{KEY}_{name}", None)
        st.rerun()
    if train_button.button("Train", key=f"{KEY}_train", type="primary"):
        train(teach, names)
    show_training(teach)
