"""Speech datasets as they arrive: manifests in other encodings or with giant fields, and
clips that do not decode. Each is refused in one line naming the file, before a run exists."""

import numpy as np
import pytest

from apps.speech import finetune as finetune_module
from apps.speech.data import load_clip_folder, read_manifest
from shared.audio import encode_wav


def _wav(path, seconds=0.25):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_wav(np.full(int(seconds * 16000), 0.1, "float32")))
    return path


def test_latin1_manifest_names_the_file_line_and_byte(tmp_path):
    _wav(tmp_path / "a.wav")
    manifest = tmp_path / "train.csv"
    data = "path,text\na.wav,caf\xe9 au lait\n".encode("latin-1")
    manifest.write_bytes(data)
    with pytest.raises(ValueError) as caught:
        read_manifest(manifest)
    message = str(caught.value)
    assert message.startswith(f"{manifest}: not UTF-8 text") and "\n" not in message
    assert "line 2" in message and f"byte {data.index(0xE9)} " in message


def test_a_field_past_the_csv_limit_names_the_file_and_line(tmp_path):
    _wav(tmp_path / "a.wav")
    manifest = tmp_path / "train.tsv"
    manifest.write_text(f"path\ttext\na.wav\thello\na.wav\t{'word ' * 40_000}\n", encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        read_manifest(manifest)
    assert str(caught.value).startswith(f"{manifest} line 3: ")


def test_spreadsheet_manifest_with_a_byte_order_mark(tmp_path):
    clip = _wav(tmp_path / "a.wav")
    manifest = tmp_path / "train.csv"  # Excel's "CSV UTF-8" starts with a BOM
    manifest.write_bytes(b"\xef\xbb\xbfpath,text\r\na.wav,ten of clubs\r\n")
    assert read_manifest(manifest) == [(clip.resolve(), "ten of clubs")]


def _run_folders(runs_dir):
    return [path for path in runs_dir.rglob("*") if path.is_dir()] if runs_dir.exists() else []


def test_corrupt_clip_in_a_manifest_is_refused_before_a_run_exists(
    tmp_path, tiny_whisper_preset, capsys
):
    for name in ("a.wav", "b.wav", "c.wav"):
        _wav(tmp_path / name)
    (tmp_path / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage")
    (tmp_path / "notes.wav").write_text("not audio, just text\n" * 5)
    manifest = tmp_path / "train.tsv"
    rows = ["a.wav\tone", "broken.wav\ttwo", "b.wav\tthree", "notes.wav\tfour", "c.wav\tfive"]
    manifest.write_text("path\ttext\n" + "\n".join(rows) + "\n", encoding="utf-8")
    runs_dir = tmp_path / "runs"
    argv = ["--data", str(manifest), "--model", str(tiny_whisper_preset), "--epochs", "1"]
    assert finetune_module.main(argv + ["--runs-dir", str(runs_dir)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {manifest}: 2 of 5 clips") and error.count("\n") == 1
    assert "broken.wav" in error and "notes.wav" in error and "a.wav" not in error
    assert _run_folders(runs_dir) == []


def test_corrupt_clip_in_a_class_folder_is_refused_naming_every_clip(tmp_path):
    for name in ("yes/1.wav", "yes/2.wav", "no/1.wav", "no/2.wav"):
        _wav(tmp_path / name)
    (tmp_path / "yes" / "3.wav").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (tmp_path / "no" / "3.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage")
    with pytest.raises(ValueError) as caught:
        load_clip_folder(tmp_path, seconds=0.5)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path}: 2 of 6 clips")
    assert str(tmp_path / "yes" / "3.wav") in message and str(tmp_path / "no" / "3.wav") in message
