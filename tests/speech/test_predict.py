"""Transcription with the bundled Whisper tiny.en on real speech, long inputs, the CLI,
and a tiny random preset."""

import json

import numpy as np
import pytest

from apps.speech.evaluate import normalize_text, word_error_rate
from apps.speech.predict import main
from apps.speech.predictor import Predictor, Transcript
from apps.speech.windows import WINDOW_SECONDS, split_windows
from shared.audio import decode_audio

SAMPLE_RATE = 16000
MAX_WER = 0.25


@pytest.fixture(scope="module")
def tiny_en():
    return Predictor.load("bundled:whisper_tiny_en")


@pytest.fixture(scope="module")
def cards_audio(cards_clips):
    """``[(16 kHz audio, reference text)]`` of the five cards clips."""
    return [(decode_audio(path), text) for path, text in cards_clips]


@pytest.fixture(scope="module")
def greedy_texts(tiny_en, cards_audio):
    return [tiny_en.predict(audio).text for audio, _ in cards_audio]


@pytest.mark.real_weights
def test_one_clip_greedy(greedy_texts, cards_audio):
    reference = cards_audio[0][1]
    assert reference == "ten of clubs"
    assert word_error_rate([reference], greedy_texts[:1]) <= MAX_WER, greedy_texts[0]


@pytest.mark.real_weights
def test_one_clip_beam_search(tiny_en, cards_audio):
    audio, reference = cards_audio[0]
    result = tiny_en.predict(audio, beam_size=5, source="001.wav")
    assert word_error_rate([reference], [result.text]) <= MAX_WER, result.text
    assert result.source == "001.wav" and result.model == "bundled:whisper_tiny_en"


@pytest.mark.real_weights
def test_corpus_word_error_rate(greedy_texts, cards_audio):
    references = [text for _, text in cards_audio]
    wer = word_error_rate(references, greedy_texts)
    assert wer <= MAX_WER, list(zip(references, greedy_texts))


@pytest.mark.real_weights
def test_timestamps(tiny_en, cards_audio):
    audio, _ = cards_audio[0]
    seconds = len(audio) / SAMPLE_RATE
    result = tiny_en.predict(audio, timestamps=True)
    assert result.segments
    for segment in result.segments:
        assert 0 <= segment.start < segment.end <= seconds + 0.5, result.segments
    assert "clubs" in normalize_text(" ".join(s.text for s in result.segments))
    assert result.audio_seconds == pytest.approx(seconds, abs=1e-3)


def _place(parts, total_seconds):
    """Silence of ``total_seconds`` with each ``(start second, audio)`` written in."""
    audio = np.zeros(total_seconds * SAMPLE_RATE, "float32")
    for start, clip in parts:
        audio[start * SAMPLE_RATE : start * SAMPLE_RATE + len(clip)] = clip
    return audio


@pytest.mark.real_weights
def test_long_audio_is_windowed_and_stitched(tiny_en, cards_audio):
    clips = [audio for audio, _ in cards_audio]
    # 001-003 in the first window, 004 in the second, 005 ("... seven of hearts") in the last.
    audio = _place([(0, np.concatenate(clips[:3])), (31, clips[3]), (61, clips[4])], 65)
    assert [len(w) for w in split_windows(audio)] == [30 * SAMPLE_RATE] * 2 + [5 * SAMPLE_RATE]
    result = tiny_en.predict(audio, timestamps=True)
    text = normalize_text(result.text)
    assert "clubs" in text and "hearts" in text, result.text
    assert text.index("clubs") < text.index("hearts")
    assert result.audio_seconds == 65.0
    hearts = [s for s in result.segments if "hearts" in normalize_text(s.text)]
    assert hearts and hearts[0].start >= 2 * WINDOW_SECONDS, result.segments
    assert all(0 <= s.start < s.end <= 65.5 for s in result.segments), result.segments


@pytest.mark.real_weights
def test_cli_json_line(tiny_en, cards_clips, capsys, monkeypatch):
    loads = []

    def load_once(ref=None, *, runs_dir=None):  # the module's model: no second warm-up
        loads.append((ref, runs_dir))
        return tiny_en

    monkeypatch.setattr(Predictor, "load", load_once)
    path = str(cards_clips[0][0])
    assert main([path, "--json"]) == 0
    assert loads == [(None, None)]  # the default model, bundled:whisper_tiny_en
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert {"text", "model", "latency_ms", "real_time_factor"} <= result.keys()
    assert result["model"] == "bundled:whisper_tiny_en" and result["source"] == path
    assert "clubs" in normalize_text(result["text"])
    assert result["latency_ms"] > 0 and result["real_time_factor"] > 0


def test_cli_rejects_a_text_file_named_wav(tmp_path, tiny_whisper_preset, capsys):
    path = tmp_path / "notes.wav"
    path.write_text("ten of clubs\nthis is not audio\n")
    assert main([str(path), "--model", str(tiny_whisper_preset)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert "notes.wav" in captured.err and "text, not audio" in captured.err


def test_tiny_preset_transcribes_noise(tiny_whisper_preset):
    predictor = Predictor.load(str(tiny_whisper_preset))
    noise = (0.1 * np.random.default_rng(0).normal(size=SAMPLE_RATE)).astype("float32")
    result = predictor.predict(noise, timestamps=True)
    assert isinstance(result, Transcript) and isinstance(result.text, str)
    assert result.audio_seconds == 1.0
    assert result.model == str(tiny_whisper_preset)
    assert result.latency_ms > 0 and result.labels == []
    assert json.loads(json.dumps(result.to_dict()))["audio_seconds"] == 1.0
