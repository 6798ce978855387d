"""The speech predict CLI on a tiny random Whisper: folder and glob inputs, per-file errors,
CSV."""

import csv
import io
import json

import numpy as np
import pytest

from apps.speech.predict import CSV_COLUMNS, main
from apps.speech.predictor import Predictor
from shared.audio import encode_wav

SAMPLE_RATE = 16000


@pytest.fixture(scope="module")
def tiny(tiny_whisper_preset):
    return Predictor.load(str(tiny_whisper_preset))


@pytest.fixture
def loaded_once(tiny, monkeypatch):
    """``main`` reuses the module's tiny model instead of loading (and warming up) again."""
    monkeypatch.setattr(Predictor, "load", lambda ref=None, *, runs_dir=None: tiny)


@pytest.fixture
def clips(tmp_path):
    """``clips/`` with two half-second noise WAVs, a text file named .wav and a note."""
    folder = tmp_path / "clips"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.wav", "c.wav"):
        noise = (0.1 * rng.normal(size=SAMPLE_RATE // 2)).astype("float32")
        (folder / name).write_bytes(encode_wav(noise))
    (folder / "b.wav").write_text("ten of clubs\n")
    (folder / "readme.md").write_text("not a clip")
    return folder


def test_a_folder_with_a_bad_clip_as_json(clips, loaded_once, capsys):
    assert main([str(clips), "--json"]) == 1
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [record["source"] for record in records] == [
        str(clips / name) for name in ("a.wav", "b.wav", "c.wav")
    ]
    assert records[0]["audio_seconds"] == 0.5 and isinstance(records[2]["text"], str)
    assert set(records[1]) == {"source", "error"} and "text, not audio" in records[1]["error"]
    assert captured.err.count("\n") == 1 and "b.wav" in captured.err


def test_csv_one_row_per_clip(clips, loaded_once, capsys):
    assert main([str(clips / "[ac].wav"), "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row["source"] for row in rows] == [str(clips / "a.wav"), str(clips / "c.wav")]
    assert all(row["audio_seconds"] == "0.5" and row["error"] == "" for row in rows)


def test_text_output_and_a_source_that_matches_nothing(clips, loaded_once, capsys):
    assert main([str(clips / "a.wav")]) == 0
    assert capsys.readouterr().out.startswith(f"{clips / 'a.wav'} (0.5 s, real-time factor")
    assert main([str(clips / "*.flac")]) == 2
    assert "no files ending in" in capsys.readouterr().err
