"""The Translation page: pick a direction and a model, type or upload text, read the translation.

The model loads through ``shared.ui.widgets.cached_model`` (``st.cache_resource``) when
Translate is pressed, never at the top of this script, so reruns reuse it. The direction
picks the bundled Bergamot model of that pair; T5 presets (online only) translate English
into the target language chosen beside them.
"""

import logging

import streamlit as st

from apps.translate import SPEC
from apps.translate.hub import T5_TARGETS
from apps.translate.predictor import DIRECTION_MODELS, MAX_BEAM_SIZE, Predictor
from apps.translate.text import (
    MAX_CHARACTERS,
    TextError,
    clean_text,
    decode_text_bytes,
    split_sentences,
)
from apps.translate.ui import SAMPLES_BY_LANGUAGE, render_result
from shared.ui.inputs import UPLOAD_LIMITS_MB
from shared.ui.result_cache import cached_predict
from shared.ui.widgets import (
    cached_model,
    model_selector,
    show_error,
    weights_status,
)

KEY = "translate"
DIRECTION_KEY = f"{KEY}_direction"
MODEL_KEY = f"{KEY}_model"
TEXT_KEY = f"{KEY}_text"
RESULT_KEY = f"{KEY}_result"
APPLIED_KEY = f"{KEY}_applied_sample"  # the preselected sample already put in the text box
AUTO_KEY = f"{KEY}_translate_now"  # a sample link or a swap translates without a click
DIRECTIONS = {"en-pt": "English → Portuguese", "pt-en": "Portuguese → English"}
MAX_UPLOAD_MB = UPLOAD_LIMITS_MB["text"]
MAX_ALTERNATIVES = 5
PREVIEW_CHARACTERS = 1_000
LONG_TEXT_CHARACTERS = 5_000  # above this, the spinner warns that it takes a while on CPU
_LOG = logging.getLogger(__name__)


def t5_loader(target_language):
    """``Predictor.load`` into ``target_language``: its name keys its own cache entry."""

    def load(ref):
        return Predictor.load(ref, target_language=target_language)

    load.__qualname__ = f"load_t5_into_{target_language}"
    return load


def follow_model_choice():
    """Keep the direction on the bundled model picked in the model list, if it is one."""
    for direction, ref in DIRECTION_MODELS.items():
        if st.session_state.get(MODEL_KEY) == ref:
            st.session_state[DIRECTION_KEY] = direction


def pick_direction_model():
    """The direction's callback: switch to that direction's bundled model, and empty the text
    box when it holds one of the other language's samples."""
    st.session_state[MODEL_KEY] = DIRECTION_MODELS[st.session_state[DIRECTION_KEY]]
    samples = [text for texts in SAMPLES_BY_LANGUAGE.values() for text in texts.values()]
    if st.session_state.get(TEXT_KEY) in samples:
        st.session_state[TEXT_KEY] = ""


def swap(result):
    """The swap button's callback: the other direction, its model, the translation as the text,
    translated at once."""
    direction = next(other for other in DIRECTION_MODELS if other != result.direction)
    st.session_state[DIRECTION_KEY] = direction
    st.session_state[MODEL_KEY] = DIRECTION_MODELS[direction]
    st.session_state[TEXT_KEY] = result.translation
    st.session_state[AUTO_KEY] = True


def options():
    """Direction (main area); model, T5 target, beam and alternatives (sidebar)."""
    follow_model_choice()
    direction = st.radio(
        "Direction",
        list(DIRECTIONS),
        format_func=DIRECTIONS.get,
        horizontal=True,
        key=DIRECTION_KEY,
        on_change=pick_direction_model,
        help="Picks the bundled model of that pair (offline).",
    )
    with st.sidebar:
        ref = model_selector(SPEC, key=MODEL_KEY)
        st.caption(f"Weights: {weights_status(SPEC, ref)}")
        target = None
        if ref in SPEC.hub_presets:  # all T5: English into a language picked here
            target = st.selectbox(
                "Target language", T5_TARGETS, key=f"{KEY}_t5_target", help="T5 translates English."
            )
        beam_size = st.slider(
            "Beam size",
            min_value=1,
            max_value=MAX_BEAM_SIZE,
            value=1,
            key=f"{KEY}_beam_size",
            help="1 is greedy decoding (fastest); wider beams weigh more hypotheses.",
        )
        alternatives = st.slider(
            "Alternatives",
            min_value=1,
            max_value=MAX_ALTERNATIVES,
            value=1,
            key=f"{KEY}_alternatives",
            disabled=beam_size == 1,
            help="Other translations from the beam: needs a beam size above 1.",
        )
    alternatives = min(alternatives, beam_size) if beam_size > 1 else 1
    return direction, ref, target, beam_size, alternatives


def use_sample(sample_key, samples):
    """The sample box's callback: put the chosen sample in the text area."""
    name = st.session_state.get(sample_key)
    if name is not None:
        st.session_state[TEXT_KEY] = samples[name]
        st.session_state[APPLIED_KEY] = (sample_key, name)


def typed_text(language):
    """A sample picker for ``language`` and the text area; returns the text."""
    samples = SAMPLES_BY_LANGUAGE.get(language, SAMPLES_BY_LANGUAGE["en"])
    sample_key = SPEC.sample_key if language == "en" else f"{SPEC.sample_key}_{language}"
    preset = st.session_state.get(sample_key)  # preselected by Home's ?sample= link
    if preset in samples and st.session_state.get(APPLIED_KEY) != (sample_key, preset):
        # Once: a user who then empties the box gets an empty box, not the sample again.
        st.session_state[TEXT_KEY] = samples[preset]
        st.session_state[APPLIED_KEY] = (sample_key, preset)
        st.session_state[AUTO_KEY] = True
    st.selectbox(
        "Sample",
        list(samples),
        index=None,
        placeholder="Pick a sample text…",
        key=sample_key,
        on_change=use_sample,
        args=(sample_key, samples),
    )
    text = st.text_area(
        "Text", height=180, key=TEXT_KEY, placeholder="Type or paste the text to translate."
    )
    st.caption(f"{len(text):,} / {MAX_CHARACTERS:,} characters")
    return text


def uploaded_text():
    """The text of an uploaded UTF-8 ``.txt`` file; "" before one, None after an error."""
    uploaded = st.file_uploader(
        "Upload a .txt file",
        type=["txt"],
        max_upload_size=MAX_UPLOAD_MB,
        key=f"{KEY}_upload",
        help=f"Plain UTF-8 text, up to {MAX_UPLOAD_MB} MB and {MAX_CHARACTERS:,} characters.",
    )
    if uploaded is None:
        return ""
    if uploaded.size > MAX_UPLOAD_MB * 2**20:
        show_error(
            f"{uploaded.name} is {uploaded.size / 2**20:.1f} MB; the limit is {MAX_UPLOAD_MB} MB.",
            hint="Split the file into smaller parts and translate them one at a time.",
        )
        return None
    try:
        text = decode_text_bytes(uploaded.getvalue(), name=uploaded.name)
    except TextError as error:
        show_error(error, hint="Upload a plain-text file saved as UTF-8, or paste the text.")
        return None
    st.caption(f"{uploaded.name}: {len(text):,} / {MAX_CHARACTERS:,} characters")
    with st.expander("Preview"):
        st.text(text[:PREVIEW_CHARACTERS] + ("…" if len(text) > PREVIEW_CHARACTERS else ""))
    return text


def text_input(language):
    """Typed text (with samples) or an uploaded file; None after an upload error."""
    source = st.radio("Text source", ("Type", "Upload"), horizontal=True, key=f"{KEY}_source")
    return typed_text(language) if source == "Type" else uploaded_text()


def checked_text(text):
    """``text`` cleaned as the Predictor will, or None after an ``st.error`` saying why."""
    try:
        return clean_text(text)
    except TextError as error:
        show_error(error, hint=f"Type, paste or upload up to {MAX_CHARACTERS:,} characters.")
        return None


def translate(predictor, text, beam_size, alternatives):
    """``predictor.predict`` under a spinner; None after an ``st.error``."""
    count = len(split_sentences(text))
    message = f"Translating {count:,} sentence{'s' if count != 1 else ''}…"
    if len(text) > LONG_TEXT_CHARACTERS:
        message += " Long texts take a while on a CPU."
    try:
        bar = st.progress(0.0, text=message) if count > 1 else None

        def progress(done, total):
            if bar is not None:
                bar.progress(done / total, text=f"{message} {done}/{total}")

        with st.spinner(message, show_time=True):
            result = cached_predict(
                predictor,
                text,
                app=SPEC.name,
                model=predictor.loaded.ref,
                beam_size=beam_size,
                num_alternatives=alternatives,
                progress=progress,
            )
        if bar is not None:
            bar.empty()
        return result
    except ValueError as error:
        show_error(error, hint="Try a shorter text, beam size 1, or another model.")
    except Exception as error:  # a page shows a message, never a traceback
        _LOG.exception("translating with %r failed", predictor)
        show_error(
            f"Translation failed: {type(error).__name__}: {error}",
            hint="Try a shorter text, beam size 1, or another model.",
        )
    return None


def run_translation(text, ref, target, beam_size, alternatives):
    """Check the text, load the model (cached) and translate; None after an ``st.error``."""
    text = checked_text(text)
    if text is None:
        return None
    loader = t5_loader(target) if target else Predictor.load
    predictor = cached_model(loader, ref, spec=SPEC)
    if predictor is None:
        return None
    return translate(predictor, text, beam_size, alternatives)


def main():
    """Render the page: options, the text, the Translate button, then the last result."""
    st.title(f"{SPEC.icon} {SPEC.title}")
    st.caption(SPEC.description)
    direction, ref, target, beam_size, alternatives = options()
    text = text_input("en" if target else direction.split("-")[0])
    signature = (ref, target, text, beam_size, alternatives)
    clicked = st.button("Translate", type="primary", key=f"{KEY}_run", disabled=text is None)
    automatic = st.session_state.pop(AUTO_KEY, False) and bool(text)
    if clicked or automatic:
        result = run_translation(text, ref, target, beam_size, alternatives)
        st.session_state[RESULT_KEY] = (signature, result)
    last = st.session_state.get(RESULT_KEY)
    if last is not None and last[1] is not None:
        result = last[1]
        render_result(
            result,
            current=last[0] == signature,
            on_swap=swap if result.direction in DIRECTION_MODELS else None,
            key=KEY,
        )
    elif last is None and text == "":
        st.info("Type or paste some text, pick a sample, or upload a .txt file, then Translate.")


main()
