"""The Chains page: one app's output is the next one's input (a Streamlit page script).

- Speech → translation: speech in any language is put into English by the speech app
  (Whisper's translate task; English speech is transcribed), and the English translated
  into Portuguese by the translation app.
- Detection → classification: each box the detector finds is cropped and classified.

Models load through ``shared.ui.render.load_predictor`` (``st.cache_resource``), never at the
top of this script.
"""

import pandas as pd
import streamlit as st

from apps import get_app
from apps.detection.predictor import draw_detections
from apps.speech.ui import language_text
from shared.audio import TARGET_SAMPLE_RATE
from shared.ui.audio import audio_input
from shared.ui.presentation import presentation_default
from shared.ui.render import crop, load_predictor
from shared.ui.result_cache import cached_predict
from shared.ui.samples import IMAGE_SAMPLES, audio_samples
from shared.ui.text import escape_markdown
from shared.ui.widgets import image_input, model_selector, show_error

KEY = "chain"
# Multilingual: the chain takes any spoken language; tiny.en (English only) stays selectable.
SPEECH_MODEL = "bundled:whisper_base"
CHAINS = ("Speech → translation", "Detection → classification")
MAX_CROPS = 12
CROP_COLUMNS = 4


def transcribe(audio, name, speech_ref):
    """``audio`` in English: translated from the spoken language by a multilingual model,
    transcribed by an English-only one (None after an ``st.error``)."""
    predictor = load_predictor(get_app("speech"), speech_ref)
    if predictor is None:
        return None
    task = "translate" if predictor.multilingual else "transcribe"
    try:
        with st.spinner("Listening…"):
            return cached_predict(
                predictor, audio, app="speech", model=speech_ref, source=name, task=task
            )
    except ValueError as error:
        show_error(error, hint="Try another recording.")
        return None


def translate(text):
    """The translation of ``text`` with the translation app's default model, or None."""
    spec = get_app("translate")
    predictor = load_predictor(spec, spec.default_model)
    if predictor is None:
        return None
    try:
        with st.spinner("Translating…"):
            return cached_predict(predictor, text, app=spec.name, model=spec.default_model)
    except ValueError as error:
        show_error(error, hint="Try a shorter or simpler sentence.")
        return None


def speech_to_translation():
    """Record or upload speech in any language → English → Portuguese."""
    st.session_state.setdefault(f"{KEY}_speech_model", SPEECH_MODEL)
    with st.sidebar:
        speech_ref = model_selector(get_app("speech"), f"{KEY}_speech_model", label="Speech model")
    audio, name = audio_input(f"{KEY}_speech", audio_samples())
    if audio is None:
        if name is None:
            st.info("Record speech in any language, upload a recording, or pick a sample.")
        return
    st.audio(audio, sample_rate=TARGET_SAMPLE_RATE)
    transcript = transcribe(audio, name, speech_ref)
    if transcript is None:
        return
    heard, translated = st.columns(2)
    heard.caption(f"In English ({transcript.model}, {transcript.latency_ms:.0f} ms)")
    if language_text(transcript):
        heard.caption(f"Language: {language_text(transcript)}")
    heard.markdown(f"### {escape_markdown(transcript.text) or '(no speech heard)'}")
    if not transcript.text.strip():
        translated.info("Nothing to translate: no speech was heard.")
        return
    with translated:
        translation = translate(transcript.text)
        if translation is None:
            return
        st.caption(f"Translated ({translation.model}, {translation.latency_ms:.0f} ms)")
        st.markdown(f"### {escape_markdown(translation.translation)}")
    total = transcript.latency_ms + translation.latency_ms
    st.caption(f"Speech to translated text in {total:.0f} ms.")


def classify_crops(image, detections, classifier):
    """``[(crop, detection, classification)]`` of the first ``MAX_CROPS`` detections."""
    pairs = [(crop(image, found.box), found) for found in detections[:MAX_CROPS]]
    pairs = [(piece, found) for piece, found in pairs if piece is not None]
    if not pairs:
        return []
    pieces = [piece for piece, _ in pairs]
    results = cached_predict(
        classifier, pieces, app="image_classify", model=classifier.ref, top_k=3
    )
    return [(piece, found, result) for (piece, found), result in zip(pairs, results)]


def render_crops(classified):
    """A grid of crops with the detector's and the classifier's labels, then a table."""
    columns = st.columns(CROP_COLUMNS)
    rows = []
    for index, (piece, found, result) in enumerate(classified):
        best = result.predictions[0]
        with columns[index % CROP_COLUMNS]:
            st.image(piece, caption=f"{found.label} → {best.label} ({best.score:.0%})")
        rows.append(
            {
                "detected": found.label,
                "detector score": round(found.score, 3),
                "classified as": best.label,
                "probability": round(best.score, 3),
                "runner-up": result.predictions[1].label if len(result.predictions) > 1 else "",
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def detection_to_classification():
    """Image → boxes → each crop classified."""
    with st.sidebar:
        detector_ref = model_selector(get_app("detection"), f"{KEY}_detector", label="Detector")
        classifier_ref = model_selector(
            get_app("image_classify"), f"{KEY}_classifier", label="Classifier"
        )
        score = st.slider("Score threshold", 0.05, 0.95, 0.5, 0.05, key=f"{KEY}_score")
    image, name = image_input(f"{KEY}_image", IMAGE_SAMPLES)
    if image is None:
        if name is None:
            st.info("Upload an image, take a photo, or pick a sample.")
        return
    detector = load_predictor(get_app("detection"), detector_ref)
    classifier = load_predictor(get_app("image_classify"), classifier_ref)
    if detector is None or classifier is None:
        return
    try:
        found = cached_predict(
            detector, image, app="detection", model=detector_ref, score_threshold=score, source=name
        )
        classified = classify_crops(image, found.detections, classifier)
    except ValueError as error:
        show_error(error, hint="Try another image or another model.")
        return
    st.image(draw_detections(image, found.detections), caption=f"{name}: {found.model}")
    if not classified:
        st.info("Nothing detected: lower the score threshold, or try another image or detector.")
        return
    more = len(found.detections) - len(classified)
    hidden = f" ({more} more not shown)" if more else ""
    st.caption(f"{len(classified)} crops classified{hidden}")
    render_crops(classified)


def main():
    """Render the page: pick a chain, then run it."""
    st.title(":material/link: Chains")
    st.caption("One app's output becomes the next app's input.")
    presentation_default(f"{KEY}_image_sample", "coffee")
    chain = st.radio("Chain", CHAINS, horizontal=True, key=f"{KEY}_kind")
    if chain == CHAINS[0]:
        speech_to_translation()
    else:
        detection_to_classification()


main()
