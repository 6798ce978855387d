"""Speech data loading (manifests, clip folders) and word-error-rate scoring."""

import json

import numpy as np
import pytest

from apps.speech import evaluate as evaluate_module
from apps.speech.data import fit_length, load_clip_folder, read_manifest, synthetic_tones
from apps.speech.evaluate import normalize_text, word_error_rate
from shared.audio import encode_wav


def _wav(path, seconds=0.5, value=0.1):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_wav(np.full(int(seconds * 16000), value, "float32")))
    return path


@pytest.mark.parametrize(
    "text, normalized",
    [
        ("Ten of Clubs.", "10 of clubs"),
        ("10 of clubs", "10 of clubs"),
        ("Eight of spades, four of clubs; seven of hearts!", "8 of spades 4 of clubs 7 of hearts"),
        ("twenty-one", "20 1"),
        ("A well-known card—the queen/king", "a well known card the queen king"),
        ("Don't stop.", "dont stop"),
        ("  Café   NAÏVE  ", "café naïve"),
        ("?!", ""),
    ],
)
def test_normalize_text(text, normalized):
    assert normalize_text(text) == normalized


def test_normalize_text_makes_numbers_and_words_equal():
    assert normalize_text("Ten of Clubs.") == normalize_text("10 of clubs")
    assert normalize_text("five-five") == normalize_text("5 5")


def test_word_error_rate():
    assert word_error_rate(["ten of clubs"], ["10 of clothes"]) == pytest.approx(1 / 3)
    assert word_error_rate(["Ten of Clubs."], ["10 of clubs"]) == 0.0
    # Corpus WER: 1 error over 3 + 2 reference words; an empty reference is left out.
    assert word_error_rate(["ten of clubs", "five five", ""], ["10 of clubs", "five", "x"]) == (
        pytest.approx(1 / 5)
    )
    assert word_error_rate(["seven of hearts"], [""]) == 1.0


@pytest.mark.parametrize("references", [[], [""], ["", " ...  "]])
def test_word_error_rate_needs_a_reference(references):
    with pytest.raises(ValueError, match="no non-empty reference"):
        word_error_rate(references, ["text"] * len(references))


def test_read_manifest_csv_with_relative_paths(tmp_path):
    first = _wav(tmp_path / "clips" / "a.wav")
    second = _wav(tmp_path / "b.wav")
    manifest = tmp_path / "train.csv"
    manifest.write_text(f'path,text\nclips/a.wav,"ten of clubs, again"\n{second}, five five \n')
    assert read_manifest(manifest) == [
        (first.resolve(), "ten of clubs, again"),
        (second.resolve(), "five five"),
    ]


def test_a_manifest_may_not_reach_files_outside_its_folder(tmp_path):
    outside = _wav(tmp_path / "elsewhere" / "a.wav")
    manifest = tmp_path / "data" / "train.csv"
    _wav(manifest.parent / "b.wav")
    (manifest.parent / "link.wav").symlink_to(outside)
    manifest.write_text(
        f"path,text\nb.wav,fine\n../elsewhere/a.wav,up\n{outside},absolute\nlink.wav,linked\n"
    )
    with pytest.raises(ValueError, match="3 bad rows") as error:
        read_manifest(manifest)
    assert str(error.value).count("is outside its folder") == 3


@pytest.mark.parametrize("name", ["train.tsv", "train.txt"])  # a tab in the header says TSV
def test_read_manifest_tsv_and_header_aliases(tmp_path, name):
    clip = _wav(tmp_path / "x.wav")
    manifest = tmp_path / name
    manifest.write_text("client_id\tFile\tSentence\n7\tx.wav\tseven, of clubs\n")
    assert read_manifest(manifest) == [(clip.resolve(), "seven, of clubs")]


@pytest.mark.parametrize(
    "content, message",
    [
        ("path,text\n", "no rows after the header"),
        ("audio_path,words\nx.wav,hi\n", "needs a column named one of"),
        ("path,text\nx.wav\n", "line 2: too few columns"),
        ("path,text\nnope.wav,hi\n", "line 2: .*nope.wav does not exist"),
        ("wav,transcript\nx.wav,  \n", "line 2: empty transcript"),
    ],
)
def test_read_manifest_errors(tmp_path, content, message):
    _wav(tmp_path / "x.wav")
    manifest = tmp_path / "bad.csv"
    manifest.write_text(content)
    with pytest.raises(ValueError, match=message):
        read_manifest(manifest)


def test_read_manifest_lists_every_bad_row(tmp_path):
    _wav(tmp_path / "x.wav")
    manifest = tmp_path / "bad.csv"
    manifest.write_text("path,text\nx.wav,ok\ngone.wav,hi\nx.wav,\nx.wav,fine\n")
    with pytest.raises(ValueError) as error:
        read_manifest(manifest)
    message = str(error.value)
    assert "2 bad rows" in message and "line 3:" in message and "line 4:" in message
    assert "line 2" not in message and "line 5" not in message


def test_read_manifest_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no such manifest"):
        read_manifest(tmp_path / "absent.csv")


def test_load_clip_folder_fits_every_clip(tmp_path):
    _wav(tmp_path / "yes" / "1.wav", seconds=0.5)
    _wav(tmp_path / "yes" / "nested" / "2.wav", seconds=1.5)
    _wav(tmp_path / "no" / "1.wav", seconds=1.0)
    (tmp_path / "no" / "notes.txt").write_text("not a clip")
    (tmp_path / ".hidden").mkdir()
    data = load_clip_folder(tmp_path, seconds=1)
    assert data.class_names == ["no", "yes"]
    assert data.clips.shape == (3, 16000) and data.clips.dtype == np.float32
    assert data.labels.tolist() == [0, 1, 1]
    assert data.clips[1, 8000:].max() == 0.0  # the half-second clip, padded with silence


@pytest.mark.parametrize(
    "layout, message",
    [
        ({"only": 2}, "needs 2\\+ class folders"),
        ({"yes": 1, "empty": 0}, "empty: \\['empty'\\]"),
        ({}, "needs 2\\+ class folders"),
    ],
)
def test_load_clip_folder_errors(tmp_path, layout, message):
    for name, count in layout.items():
        (tmp_path / name).mkdir()
        for index in range(count):
            _wav(tmp_path / name / f"{index}.wav")
    with pytest.raises(ValueError, match=message):
        load_clip_folder(tmp_path, seconds=1)


def test_load_clip_folder_not_a_directory(tmp_path):
    with pytest.raises(ValueError, match="not a directory"):
        load_clip_folder(tmp_path / "absent", seconds=1)


def test_fit_length():
    audio = np.arange(1, 6, dtype="float64")
    padded = fit_length(audio, 8)
    assert padded.dtype == np.float32 and padded.tolist() == [1, 2, 3, 4, 5, 0, 0, 0]
    assert fit_length(audio, 3).tolist() == [1, 2, 3]
    assert fit_length(audio, 5).tolist() == audio.tolist()
    assert fit_length(np.zeros(0), 2).tolist() == [0, 0]


def test_synthetic_tones():
    data = synthetic_tones(num_per_class=2, seconds=0.5)
    assert data.clips.shape == (6, 8000) and data.clips.dtype == np.float32
    assert data.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert data.class_names == ["low", "high", "chirp"]
    assert np.abs(data.clips).max() < 1.0


@pytest.fixture
def tiny_manifest(tmp_path):
    rng = np.random.default_rng(2)
    for index in range(2):
        clip = (0.1 * rng.normal(size=16000)).astype("float32")
        (tmp_path / f"{index}.wav").write_bytes(encode_wav(clip))
    manifest = tmp_path / "test.csv"
    manifest.write_text("file,sentence\n0.wav,ten of clubs\n1.wav,five five\n")
    return manifest


def test_evaluate_cli_json(tiny_whisper_preset, tiny_manifest, capsys):
    argv = ["--model", str(tiny_whisper_preset), "--data", str(tiny_manifest), "--json"]
    assert evaluate_module.main(argv + ["--limit", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["num_clips"] == 1 and report["model"] == str(tiny_whisper_preset)
    assert isinstance(report["wer"], float) and report["wer"] >= 0
    (example,) = report["examples"]
    assert example["path"] == str((tiny_manifest.parent / "0.wav").resolve())
    assert example["reference"] == "ten of clubs"
    assert isinstance(example["hypothesis"], str)


def test_evaluate_cli_bad_manifest(tmp_path, capsys):
    manifest = tmp_path / "bad.tsv"
    manifest.write_text("path\ttext\nmissing.wav\thello\n")
    assert evaluate_module.main(["--data", str(manifest)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "line 2:" in error and error.count("\n") == 1
