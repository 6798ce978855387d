"""Whisper's no-speech probability: silence and beeps give no words, speech still does; the
warm-up leaves nothing to trace; the shared first pass decodes as a separate prefill did."""

import numpy as np
import pytest

from apps.speech.decoding import DecodeOptions, Hypothesis
from apps.speech.predictor import Predictor
from apps.speech.search import greedy
from apps.speech.windows import is_silent, silence_note
from shared.audio import decode_audio

SAMPLE_RATE = 16000


def beeps(seconds=2.0, frequency=400, beep=0.02, every=0.5):
    """A square-wave beep of ``beep`` seconds every ``every`` seconds, silence between (a
    browser's fake microphone)."""
    times = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = np.sign(np.sin(2 * np.pi * frequency * times)) * ((times % every) < beep)
    return (0.5 * wave).astype("float32")


def tone(seconds=1.0, frequency=1000):
    times = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * frequency * times)).astype("float32")


def test_rule_follows_whisper():
    confident = Hypothesis([1, 2], log_prob=-0.3)  # average -0.1
    unsure = Hypothesis([1, 2], log_prob=-6.0)  # average -2
    assert not is_silent(None, unsure, "a b")  # no no-speech token: never silent
    assert not is_silent(0.5, unsure, "a b")  # under 0.6: speech
    assert is_silent(0.7, unsure, "a b")  # openai-whisper's rule
    assert not is_silent(0.7, confident, "ten of clubs")
    assert is_silent(0.7, confident, "beep " * 40)  # a repetition loop
    assert is_silent(0.75, confident, "you")  # Whisper sure: no speech


def test_silence_note():
    assert silence_note([(0.1, False)]) == ""
    assert "No speech heard" in silence_note([(0.9, True)])
    assert "1 of 2" in silence_note([(0.9, True), (0.1, False)])


@pytest.fixture(scope="module")
def tiny_en():
    return Predictor.load("bundled:whisper_tiny_en")


@pytest.mark.real_weights
@pytest.mark.parametrize(
    "name, audio",
    [
        ("silence", np.zeros(2 * SAMPLE_RATE, "float32")),
        ("beeps", beeps()),
        ("tone", tone()),
    ],
)
@pytest.mark.parametrize("options", [{}, {"beam_size": 5, "timestamps": True}])
def test_no_words_without_speech(tiny_en, name, audio, options):
    result = tiny_en.predict(audio, **options)
    assert result.text == "" and result.segments == [], (name, result.text)
    assert result.no_speech_probability > 0.6
    assert result.note.startswith("No speech heard")


@pytest.mark.real_weights
def test_speech_is_still_heard(tiny_en, cards_clips):
    path, reference = cards_clips[0]
    result = tiny_en.predict(decode_audio(path))
    assert result.text.lower().strip(".") in (reference, "10 of clubs")
    assert result.no_speech_probability < 0.6 and result.note == ""


@pytest.mark.real_weights
def test_warm_up_leaves_nothing_to_trace(tiny_en, cards_clips):
    generator = tiny_en.loaded.generator
    functions = [generator._encode, generator._prefill, generator._prefill_cached]
    functions += [generator._step, generator._beam_step]
    traced = [function.experimental_get_tracing_count() for function in functions]
    audio = decode_audio(cards_clips[1][0])
    for options in (
        {},
        {"timestamps": True},
        {"beam_size": 5},
        {"beam_size": 5, "timestamps": True},
    ):
        tiny_en.predict(audio, **options)
    assert [function.experimental_get_tracing_count() for function in functions] == traced


@pytest.mark.real_weights
def test_shared_first_pass_decodes_the_same(tiny_en, cards_clips):
    loaded = tiny_en.loaded
    generator = loaded.generator
    audio = decode_audio(cards_clips[0][0])
    padded = np.pad(audio, (0, 30 * SAMPLE_RATE - len(audio)))[None]
    encoded = generator.encode(loaded.audio_converter(padded))
    _, cross_cache = generator.start(encoded)
    prompt = loaded.tokenizer.prompt_ids(False)
    options = DecodeOptions(suppress_tokens=loaded.suppress_tokens)
    (alone,) = greedy(generator, encoded, prompt, options)
    (shared,) = greedy(generator, encoded, prompt, options, cross_cache)
    assert shared.tokens == alone.tokens
    assert shared.log_prob == pytest.approx(alone.log_prob, abs=1e-4)
