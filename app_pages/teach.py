"""The Teach page: name a few classes, show each to the camera (or upload photos), train a
classifier in seconds and watch it predict live (a Streamlit page script).

Each capture becomes the default classifier's backbone features once (cached); training fits
only a new head on them (``apps.image_classify.teach``). "Keep as run" saves an ordinary
image_classify run, listed on the Runs page, selectable in the app and exportable here.
The Sounds mode (recordings of a few classes, on Whisper's encoder) is ``teach_sounds``.
"""

import time

import streamlit as st

from app_pages import teach_sounds
from apps import get_app
from apps.image_classify.teach import DEFAULT_MODEL, Teacher, check_class_names
from shared.runs import open_run
from shared.ui.live import camera_stream, playing, refresh_while, show_video_stats, stream_stats
from shared.ui.page_state import session_object
from shared.ui.run_files import render_exports
from shared.ui.widgets import decode_upload, show_error

KEY = "teach"
DEFAULT_CLASSES = "Class 1, Class 2"


def teacher():
    """This session's ``Teacher`` (its examples are the user's own)."""
    return session_object(
        f"{KEY}_teacher",
        lambda: Teacher(DEFAULT_MODEL),
        preparing=f"Preparing {DEFAULT_MODEL}'s feature extractor…",
        hint="The default classifier's weights are needed to teach.",
    )


def annotator(teach):
    def annotate(image):
        if teach.trained is None:
            return image, "capture examples, then train"
        name, score = teach.predict(image)
        return image, f"{name} {score:.2f}"

    return annotate


def add_example(teach, name, image):
    st.session_state.setdefault(f"{KEY}_first_capture", time.monotonic())
    teach.add(name, image)


def capture_column(teach, name, stats, index):
    st.markdown(f"**{name}**")
    count = teach.counts().get(name, 0)
    if st.button("Capture", key=f"{KEY}_capture_{index}"):
        if stats.latest is None:
            st.warning("Start the camera first.")
        else:
            add_example(teach, name, stats.latest)
            count += 1
    st.caption(f"{count} example(s)")
    uploads = st.file_uploader(
        "or upload", accept_multiple_files=True, key=f"{KEY}_upload_{index}_{name}"
    )
    done = st.session_state.setdefault(f"{KEY}_uploaded", set())
    for uploaded in uploads or []:
        if (name, uploaded.file_id) in done:
            continue
        image, _ = decode_upload(uploaded)
        if image is not None:
            add_example(teach, name, image)
        done.add((name, uploaded.file_id))


@st.fragment
def capture_columns(teach, names, stats):
    """A Capture button (and an uploader) per class; a capture reruns only this part."""
    for index, (column, name) in enumerate(zip(st.columns(len(names)), names)):
        with column:
            capture_column(teach, name, stats, index)


def train(teach, names):
    try:
        with st.spinner("Training the head on the cached features…"):
            metrics = teach.train(names)
    except ValueError as error:
        show_error(error, hint="Capture or upload examples of every class.")
        return
    first = st.session_state.get(f"{KEY}_first_capture")
    metrics["since_first_capture_s"] = round(time.monotonic() - first, 1) if first else None
    st.session_state[f"{KEY}_metrics"] = metrics
    st.session_state.pop(f"{KEY}_run", None)


def show_training(teach):
    metrics = st.session_state.get(f"{KEY}_metrics")
    if metrics is None or teach.trained is None:
        return
    accuracy, held, seconds, since = st.columns(4)
    accuracy.metric("Held-out accuracy", f"{metrics['accuracy']:.0%}")
    held.metric("Held out", f"{metrics['held_out']} of {metrics['examples']}")
    seconds.metric("Training", f"{metrics['train_seconds']:.1f} s")
    if metrics.get("since_first_capture_s") is not None:
        since.metric("First capture → model", f"{metrics['since_first_capture_s']:.0f} s")
    if st.button("Keep as run", key=f"{KEY}_keep"):
        with st.spinner("Saving the run…"):
            run = teach.keep(metrics, name="taught: " + ", ".join(teach.trained[1]))
        st.session_state[f"{KEY}_run"] = run.ref
    if ref := st.session_state.get(f"{KEY}_run"):
        st.success(f"Kept as `{ref}`: pick it in Image classification, or see it on Runs.")
        render_exports(open_run(ref), get_app("image_classify").exporters)


st.title(":material/school: Teach")
mode = st.radio("Teach from", ["Images", "Sounds"], horizontal=True, key=f"{KEY}_mode")
if mode == "Sounds":
    teach_sounds.render()
    st.stop()
st.caption(
    "Name your classes, show each one to the camera and press its Capture button a few "
    "times (or upload photos), then train: a new head learns on the default classifier's "
    "features in seconds, and predicts on the live stream."
)
text = st.text_input("Classes (comma-separated)", DEFAULT_CLASSES, key=f"{KEY}_classes")
try:
    names = check_class_names([name for name in text.split(",") if name.strip()])
except ValueError as error:
    show_error(error, hint="For example: cup, phone, hand")
    st.stop()
teach = teacher()
if teach is None:
    st.stop()
stats = stream_stats(f"{KEY}_camera")
video, side = st.columns([3, 2])
with video:
    context = camera_stream(f"{KEY}_camera", annotator(teach), stats)
with side:
    if not playing(context):
        st.info("Press START and allow the camera, then capture examples of each class.")
    refresh_while(playing(context), show_video_stats, stats)
capture_columns(teach, names, stats)
train_button, reset_button = st.columns([1, 5])
if reset_button.button("Start over", key=f"{KEY}_reset", help="Forget every example"):
    teach.examples.clear()
    teach.trained = None
    for name in ("first_capture", "metrics", "run"):  # uploads already seen stay seen
        st.session_state.pop(f"{KEY}_{name}", None)
    st.rerun()
if train_button.button("Train", key=f"{KEY}_train", type="primary"):
    train(teach, names)
show_training(teach)
