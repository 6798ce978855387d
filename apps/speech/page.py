"""The Speech to text page: pick a model and a recording, read the transcript (or, with a
multilingual model, its English translation) and the language heard.

The model loads through ``shared.ui.widgets.cached_model`` (``st.cache_resource``), never at
the top of this script, so reruns reuse it. The example recordings are the test clips of the
Debian package ``pocketsphinx-testdata`` when it is installed; a generated clip is always
offered so the page works without them.
"""

import logging

import pandas as pd
import streamlit as st

from apps.speech import SPEC
from apps.speech.predictor import Predictor
from apps.speech.tokenizer import LANGUAGE_NAMES, TASKS, language_label
from apps.speech.ui import REFERENCES, TEST_CLIPS, language_text
from shared.audio import TARGET_SAMPLE_RATE
from shared.ui.audio import audio_input, show_waveform
from shared.ui.result_cache import cached_predict
from shared.ui.text import escape_markdown
from shared.ui.widgets import (
    BUNDLED_PREFIX,
    bundled_converted,
    cached_model,
    model_selector,
    show_error,
)

_LOG = logging.getLogger(__name__)
AUTO = "auto"
TASK_LABELS = {
    "transcribe": "Transcribe (the spoken language)",
    "translate": "Translate to English",
}


def loading_spinner(ref):
    """Spinner text for loading ``ref``: converting the bundled Whisper takes longest."""
    if ref.startswith(BUNDLED_PREFIX) and not bundled_converted(
        SPEC, ref.removeprefix(BUNDLED_PREFIX)
    ):
        return "Converting bundled Whisper weights on first use…"
    return None  # cached_model's own "Loading …" text


def segments_table(transcript):
    """The timed segments as a DataFrame (seconds)."""
    return pd.DataFrame(
        {
            "start (s)": [segment.start for segment in transcript.segments],
            "end (s)": [segment.end for segment in transcript.segments],
            "text": [segment.text for segment in transcript.segments],
        }
    )


def render_transcript(transcript, timestamps):
    """The transcript in large type, the language heard, latency and real-time factor, and
    the segments."""
    st.subheader(escape_markdown(transcript.text) or "(no speech heard)")
    heard = language_text(transcript)
    if heard:
        st.caption(f"Language: {heard}")
    latency, factor, length = st.columns(3)
    latency.metric("Latency", f"{transcript.latency_ms:.0f} ms")
    factor.metric(
        "Real-time factor",
        f"{transcript.real_time_factor:.2f}",
        help="Transcription time ÷ audio length: below 1 is faster than real time.",
    )
    length.metric("Audio", f"{transcript.audio_seconds:.1f} s")
    if not timestamps:
        return
    if transcript.segments:
        st.dataframe(segments_table(transcript), hide_index=True)
    else:
        st.caption("No timed segments: this model or clip gave no timestamps.")


def transcribe(predictor, audio, source, **options):
    """``predictor.predict(audio, source=source, **options)`` under a spinner; None after an
    ``st.error``."""
    try:
        with st.spinner("Transcribing…"):
            model = predictor.loaded.ref
            return cached_predict(
                predictor, audio, app=SPEC.name, model=model, source=source, **options
            )
    except ValueError as error:
        show_error(error, hint="Try another recording, or bundled:whisper_base for languages.")
    except Exception as error:  # a page shows a message, never a traceback
        _LOG.exception("transcribing %r failed", source)
        show_error(
            f"Transcription failed: {type(error).__name__}: {error}",
            hint="Try a shorter recording, beam size 1, or another model.",
        )
    return None


def render_result(audio, source, predictor, options):
    """Play the input, transcribe it, then show the transcript, metrics and the waveform."""
    st.audio(audio, sample_rate=TARGET_SAMPLE_RATE)
    st.caption(f"{source} ({len(audio) / TARGET_SAMPLE_RATE:.1f} s at 16 kHz)")
    transcript = transcribe(predictor, audio, source, **options)
    if transcript is None:
        return
    render_transcript(transcript, options["timestamps"])
    figure_column, reference_column = st.columns(2)
    with figure_column, st.expander("Waveform and spectrogram"):
        show_waveform(audio, TARGET_SAMPLE_RATE)
    reference = REFERENCES.get(source)
    if reference:
        reference_column.markdown(f"**Reference transcript:** {escape_markdown(reference)}")


def sidebar_options():
    """Model and the ``predict`` options (beam size, timestamps, language, task) from the
    sidebar."""
    with st.sidebar:
        ref = model_selector(SPEC, key="speech_model")
        beam_size = st.slider(
            "Beam size",
            min_value=1,
            max_value=5,
            value=1,
            key="speech_beam_size",
            help="1 is greedy decoding (fastest); wider beams weigh more hypotheses.",
        )
        timestamps = st.toggle(
            "Timestamps", key="speech_timestamps", help="Show when each segment is spoken."
        )
        language = st.selectbox(
            "Spoken language",
            [AUTO, *LANGUAGE_NAMES],
            format_func=lambda code: "detect" if code == AUTO else language_label(code),
            key="speech_language",
            help="Multilingual models (bundled:whisper_base) detect it; English-only ones "
            "hear English.",
        )
        task = st.radio(
            "Output",
            TASKS,
            format_func=TASK_LABELS.get,
            key="speech_task",
            help="Translation to English needs a multilingual model (bundled:whisper_base).",
        )
    options = dict(beam_size=beam_size, timestamps=timestamps, task=task)
    return ref, options | {"language": None if language == AUTO else language}


def main():
    """Render the page: options in the sidebar, audio input, then the transcript."""
    st.title(f"{SPEC.icon} {SPEC.title}")
    st.caption(SPEC.description)
    ref, options = sidebar_options()
    audio, source = audio_input(SPEC.name, SPEC.samples)
    if not TEST_CLIPS:
        st.info(
            "Example speech clips need the Debian package `pocketsphinx-testdata` "
            "(`sudo apt install pocketsphinx-testdata`); until then only a generated tone "
            "is offered as a sample."
        )
    if audio is None:
        if source is None:  # nothing given yet (a bad file already shows its error)
            st.info("Record from the microphone, upload a recording, or pick a sample.")
        return
    predictor = cached_model(Predictor.load, ref, spec=SPEC, spinner=loading_spinner(ref))
    if predictor is not None:
        render_result(audio, source, predictor, options)


main()
