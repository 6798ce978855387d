"""Live speech plumbing: frame samples to mono, utterances cut at pauses, lines from a worker."""

import time

import numpy as np

from shared.live_audio import LiveTranscriber, Segmenter, to_mono_float

RATE = 16000


def tone(seconds, level=0.3):
    times = np.arange(int(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * 440 * times)).astype("float32")


def blocks(audio, size=320):
    return [audio[start : start + size] for start in range(0, len(audio), size)]


def test_interleaved_and_planar_int16_become_the_same_mono_floats():
    left, right = np.array([16384, -16384], "int16"), np.array([0, 0], "int16")
    interleaved = np.stack([left, right], axis=1).reshape(1, -1)
    planar = np.stack([left, right])
    expected = np.array([0.25, -0.25], "float32")
    np.testing.assert_allclose(to_mono_float(interleaved, 2, planar=False), expected)
    np.testing.assert_allclose(to_mono_float(planar, 2, planar=True), expected)


def test_an_utterance_ends_at_a_pause_and_silence_alone_is_dropped():
    segmenter = Segmenter(pause_seconds=0.5, min_seconds=0.5, max_seconds=10)
    audio = np.concatenate([np.zeros(RATE, "float32"), tone(1.0), np.zeros(RATE, "float32")])
    cut = [utterance for block in blocks(audio) for utterance in segmenter.push(block)]
    assert len(cut) == 1
    assert 1.5 * RATE <= len(cut[0]) <= 2.0 * RATE  # pre-roll + speech + the pause
    assert segmenter.flush().size == 0


def test_speech_without_a_pause_is_cut_at_max_seconds():
    segmenter = Segmenter(max_seconds=2.0)
    cut = [utterance for block in blocks(tone(5.0)) for utterance in segmenter.push(block)]
    assert [len(utterance) for utterance in cut] == [2 * RATE, 2 * RATE]


def test_the_transcriber_resamples_cuts_and_translates_on_its_worker():
    heard = []

    def transcribe(audio):
        heard.append(len(audio))
        return "hello"

    transcriber = LiveTranscriber(
        transcribe, lambda text: text.upper(), Segmenter(pause_seconds=0.3, min_seconds=0.3)
    )
    audio48k = np.concatenate([np.repeat(tone(0.6), 3), np.zeros(48000, "float32")])
    for block in blocks((audio48k * 32767).astype("int16"), 960):
        transcriber.on_frame(block[None, :], 48000, channels=1, planar=False)
    deadline = time.monotonic() + 10
    while not transcriber.lines() and time.monotonic() < deadline:
        time.sleep(0.05)
    [line] = transcriber.lines()
    assert (line.heard, line.translation) == ("hello", "HELLO")
    assert 0.6 * RATE < heard[0] < 1.4 * RATE  # at 16 kHz
    assert transcriber.error is None
