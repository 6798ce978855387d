"""Audio longer than Whisper's 30-second window: each window starts where the previous one's
last complete segment ended, so speech across a window's end is not lost."""

import functools
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from apps.speech.decoding import Hypothesis
from apps.speech.evaluate import normalize_text, word_error_rate
from apps.speech.predictor import Predictor
from apps.speech.tokenizer import WhisperTextTokenizer
from apps.speech.weights import tiny_en_model_dir
from apps.speech.windows import WINDOW_SECONDS, complete_segments, quiet_start
from shared.audio import decode_audio

SAMPLE_RATE = 16000
TESTDATA = Path("/usr/share/pocketsphinx/test/data")
LIBRIVOX = "librivox/sense_and_sensibility_01_austen_64kb-0{}.wav"
# (start second, clip): five book sentences fill 0.3-26.8 s, then the cards clip
# "eight of spades four of clubs seven of hearts" runs from 27.3 s to 30.8 s, across the
# first window's end, and two more clips follow in a 38-second talk.
TALK = (
    (0.3, LIBRIVOX.format(870)),
    (7.8, LIBRIVOX.format(880)),
    (11.2, LIBRIVOX.format(890)),
    (17.0, LIBRIVOX.format(920)),
    (23.5, LIBRIVOX.format(930)),
    (27.3, "cards/005.wav"),
    (31.5, LIBRIVOX.format(880)),
    (35.0, "cards/002.wav"),
)
TALK_SECONDS = 38.0
MAX_WER = 0.25


@pytest.fixture(scope="module")
def talk():
    """``(audio, reference text)`` of the 38-second talk; skips without the test data."""
    from shared.ui.samples import read_references

    if not all((TESTDATA / path).is_file() for _, path in TALK):
        pytest.skip("needs Debian pocketsphinx-testdata: apt-get install pocketsphinx-testdata")
    references = read_references(TESTDATA)
    audio = np.zeros(int(TALK_SECONDS * SAMPLE_RATE), "float32")
    for start, path in TALK:
        clip = decode_audio(TESTDATA / path)
        audio[int(start * SAMPLE_RATE) : int(start * SAMPLE_RATE) + len(clip)] = clip
    reference = " ".join(references[Path(path).stem] for _, path in TALK)
    return audio, reference


@pytest.fixture(scope="module")
def tiny_en():
    return Predictor.load("bundled:whisper_tiny_en")


def _assert_nothing_lost_at_the_window_end(text, reference):
    words = normalize_text(text)
    # The sentence across 30 s is there whole, once, between its neighbours.
    assert words.count("spades") == 1 and words.count("himself") == 1, text
    assert "8 of spades" in words and "7 of hearts" in words, text
    assert words.index("himself") < words.index("spades") < words.index("hearts"), text
    assert word_error_rate([reference], [text]) <= MAX_WER, text


@pytest.mark.real_weights
def test_greedy_keeps_speech_across_the_window_end(tiny_en, talk):
    audio, reference = talk
    result = tiny_en.predict(audio)
    _assert_nothing_lost_at_the_window_end(result.text, reference)
    assert result.segments == [] and result.audio_seconds == TALK_SECONDS


@pytest.mark.real_weights
def test_beam_search_segments_across_the_window_end(tiny_en, talk):
    audio, reference = talk
    result = tiny_en.predict(audio, beam_size=5, timestamps=True)
    _assert_nothing_lost_at_the_window_end(result.text, reference)
    segments = result.segments
    assert normalize_text(" ".join(s.text for s in segments)) == normalize_text(result.text)
    for before, after in zip(segments, segments[1:]):
        assert before.end <= after.start, segments
    assert all(0 <= s.start < s.end <= TALK_SECONDS + 0.5 for s in segments), segments
    spades = [s for s in segments if "spades" in normalize_text(s.text)]
    assert spades and 26.5 <= spades[0].start < WINDOW_SECONDS, segments


@pytest.fixture(scope="module")
def tokenizer():
    try:
        return WhisperTextTokenizer(tiny_en_model_dir() / "tokenizer.json")
    except ValueError as error:
        pytest.skip(str(error))


def _stamp(tokenizer, seconds):
    return tokenizer.special_ids["timestamp_begin"] + round(seconds / 0.02)


def test_complete_segments_drop_an_unfinished_one(tokenizer):
    hello, world = tokenizer.encode(" hello"), tokenizer.encode(" world")
    t = functools.partial(_stamp, tokenizer)
    begin = tokenizer.special_ids["timestamp_begin"]
    # Unfinished last segment (cut by the window's end): kept up to 5 s, the rest re-heard.
    tokens = [t(0), *hello, t(5), t(5), *world]
    assert complete_segments(tokens, begin) == ([t(0), *hello, t(5)], 5.0)
    # A new segment opened and nothing heard in it: the same.
    assert complete_segments([t(0), *hello, t(5), t(5)], begin) == ([t(0), *hello, t(5)], 5.0)
    # A lone closing timestamp means nothing more was heard: the whole window is done.
    tokens = [t(0), *hello, t(5), t(5), *world, t(9)]
    assert complete_segments(tokens, begin) == (tokens, None)
    # No pair of timestamps: nothing to cut at.
    assert complete_segments([t(0), *hello], begin) == ([t(0), *hello], None)
    assert complete_segments([], begin) == ([], None)


def test_the_next_window_starts_in_the_pause_before_a_late_cut(tokenizer):
    t = functools.partial(_stamp, tokenizer)
    kept = [t(0), *tokenizer.encode(" hello"), t(5)]
    begin = tokenizer.special_ids["timestamp_begin"]
    silence = np.zeros(10 * SAMPLE_RATE, "float32")
    assert quiet_start(silence, 0, kept, 5.0, begin) == 5 * SAMPLE_RATE  # the latest of equals
    speech = np.ones_like(silence)
    speech[int(4.8 * SAMPLE_RATE) : int(4.9 * SAMPLE_RATE)] = 0.01  # a pause just before 5 s
    speech[int(4.0 * SAMPLE_RATE) : int(4.1 * SAMPLE_RATE)] = 0  # quieter, but a second back
    assert quiet_start(speech, 0, kept, 5.0, begin) == int(4.88 * SAMPLE_RATE)
    # Never into the last kept segment ("hi", from 4.9 s).
    short = [t(0), *tokenizer.encode(" hello"), t(4.9), t(4.9), *tokenizer.encode(" hi"), t(5)]
    assert quiet_start(speech, 0, short, 5.0, begin) == 5 * SAMPLE_RATE


class _ScriptedDecoder:
    """Stands in for a model: replies to each window with scripted tokens, and records
    where in ``audio`` each window started (seconds)."""

    def __init__(self, audio, replies):
        self.audio, self.replies, self.starts, self.calls = audio, replies, [], []

    def __call__(self, window, options, speech):
        first = int(np.flatnonzero(window)[0])  # found by its first sound (noise is unique)
        position = int(np.flatnonzero(self.audio == window[first])[0]) - first
        self.starts.append(round(position / SAMPLE_RATE, 2))
        self.calls.append((speech.language, speech.task, options.timestamps))
        return Hypothesis(self.replies.pop(0))


def _scripted_predictor(tokenizer, audio, replies, monkeypatch):
    loaded = SimpleNamespace(tokenizer=tokenizer, ref="scripted", suppress_tokens=())
    predictor = Predictor(loaded)
    decoder = _ScriptedDecoder(audio, replies)
    monkeypatch.setattr(predictor, "_hypothesis", decoder)
    return predictor, decoder


def test_windows_seek_to_the_last_complete_segment(tokenizer, monkeypatch):
    t = functools.partial(_stamp, tokenizer)
    one, two, three = (tokenizer.encode(f" {word}") for word in ("one", "two", "three"))
    replies = [
        [t(0), *one, t(27.5), t(27.5), *two],  # "two" cut by the window's end
        [t(0), *two, t(4), t(20), *three, t(21)],  # nothing heard after 21 s
        [t(0), *three],  # the last window keeps even an unclosed segment
    ]
    audio = np.random.default_rng(0).normal(0, 0.1, 70 * SAMPLE_RATE).astype("float32")
    audio[int(27.3 * SAMPLE_RATE) : int(27.4 * SAMPLE_RATE)] = 0  # the pause before "two"
    predictor, decoder = _scripted_predictor(tokenizer, audio, replies, monkeypatch)
    result = predictor.predict(audio, timestamps=True)
    # "two" starts again in its pause; after 21 s of the second window nothing was heard.
    assert decoder.starts == [0.0, 27.38, 57.38]
    assert result.text == "one two three three"
    assert [(s.start, s.end, s.text) for s in result.segments] == [
        (0.0, 27.38, "one"),
        (27.38, 31.38, "two"),
        (47.38, 48.38, "three"),
        (57.38, 70.0, "three"),
    ]
    assert decoder.calls == [("en", "transcribe", True)] * 3


def test_a_short_clip_is_one_window_as_asked(tokenizer, monkeypatch):
    audio = np.random.default_rng(0).normal(0, 0.1, WINDOW_SECONDS * SAMPLE_RATE)
    audio = audio.astype("float32")
    predictor, decoder = _scripted_predictor(
        tokenizer, audio, [tokenizer.encode(" hi")], monkeypatch
    )
    result = predictor.predict(audio)
    assert result.text == "hi" and result.segments == []
    assert decoder.calls == [("en", "transcribe", False)]
