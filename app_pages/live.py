"""The Live page: the webcam classified or detected frame by frame, and the microphone
transcribed and translated into Portuguese as you speak (a Streamlit page script).

The streams are WebRTC between the browser and this server (no outside server); the models
are the apps' cached predictors, called in the stream's worker thread (see
``shared.ui.live``).
"""

import streamlit as st

from apps import get_app
from apps.detection.predictor import draw_detections
from shared.live_audio import LiveTranscriber
from shared.ui.live import (
    camera_stream,
    microphone_stream,
    playing,
    refresh_while,
    show_lines,
    show_video_stats,
    stream_stats,
)
from shared.ui.render import load_predictor
from shared.ui.widgets import model_selector

KEY = "live"
TASKS = ("Classification", "Detection")
STREAMS = ("Camera", "Microphone")
SPEECH_MODELS = ("bundled:whisper_tiny_en", "bundled:whisper_base")


def classifier_annotator(predictor):
    def annotate(image):
        top = predictor.predict(image, top_k=1).predictions[0]
        return image, f"{top.label} {top.score:.2f}"

    return annotate


def detector_annotator(predictor):
    def annotate(image):
        found = predictor.predict(image).detections
        if not found:
            return image, "nothing detected"
        best = max(found, key=lambda item: item.score)
        more = f" (+{len(found) - 1})" if len(found) > 1 else ""
        return draw_detections(image, found), f"{best.label} {best.score:.2f}{more}"

    return annotate


def camera_section():
    task = st.radio("On each frame", TASKS, horizontal=True, key=f"{KEY}_task")
    spec = get_app("image_classify" if task == TASKS[0] else "detection")
    with st.sidebar:
        ref = model_selector(spec, f"{KEY}_{spec.name}_model", label=f"{task} model")
    predictor = load_predictor(spec, ref)
    if predictor is None:
        return
    annotate = (classifier_annotator if task == TASKS[0] else detector_annotator)(predictor)
    stats = stream_stats(f"{KEY}_camera")
    video, side = st.columns([3, 2])
    with video:
        context = camera_stream(f"{KEY}_camera", annotate, stats)
    with side:
        st.caption(f"{task} by `{ref}`")
        if not playing(context):
            st.info("Press START and allow the camera: predictions appear on each frame.")
        refresh_while(playing(context), show_video_stats, stats)


def speech_functions(speech_ref):
    speech = load_predictor(get_app("speech"), speech_ref)
    translate_spec = get_app("translate")
    translator = load_predictor(translate_spec, translate_spec.default_model)
    if speech is None or translator is None:
        return None
    task = "translate" if speech.multilingual else "transcribe"

    def transcribe(audio):
        return speech.predict(audio, task=task).text

    def translate(text):
        return translator.predict(text).translation

    return transcribe, translate


def microphone_section():
    st.session_state.setdefault(f"{KEY}_speech_model", SPEECH_MODELS[0])
    speech_ref = st.selectbox("Speech model", SPEECH_MODELS, key=f"{KEY}_speech_model")
    functions = speech_functions(speech_ref)
    if functions is None:
        return
    name = f"{KEY}_transcriber"
    if name not in st.session_state:
        st.session_state[name] = LiveTranscriber(*functions)
    transcriber = st.session_state[name]
    transcriber.set_models(*functions)
    stream, side = st.columns([1, 3])
    with stream:
        context = microphone_stream(f"{KEY}_microphone", transcriber)
        if st.button("Clear lines", key=f"{KEY}_clear"):
            transcriber.clear()
    with side:
        refresh_while(playing(context), show_lines, transcriber)


st.title(":material/videocam: Live")
st.caption(
    "Your camera and microphone, streamed to this server and back (WebRTC, no outside "
    "server). The models run on every frame they can keep up with; frames that arrive "
    "while one runs are skipped."
)
stream = st.radio("Stream", STREAMS, horizontal=True, key=f"{KEY}_stream")
if stream == STREAMS[0]:
    camera_section()
else:
    microphone_section()
