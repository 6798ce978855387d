"""The detection predict CLI: folder and list inputs, per-file errors, CSV, drawings (with
the MTCNN face detector, ``bundled:mtcnn_faces``)."""

import csv
import io
import json

import pytest
from PIL import Image
from skimage import data

from apps.detection.predict import CSV_COLUMNS, main
from apps.detection.predictor import Predictor


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load("bundled:mtcnn_faces")


@pytest.fixture
def loaded_once(predictor, monkeypatch):
    """``main`` reuses the module's predictor instead of loading (and warming up) again."""
    monkeypatch.setattr(Predictor, "load", lambda ref=None, *, runs_dir=None: predictor)


@pytest.fixture
def album(tmp_path):
    """``album/`` with the astronaut (one face), a coffee cup (none) and a broken PNG."""
    folder = tmp_path / "album"
    (folder / "more").mkdir(parents=True)
    Image.fromarray(data.astronaut()).save(folder / "astronaut.png")
    Image.fromarray(data.coffee()).save(folder / "more" / "coffee.jpg")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n then nothing")
    return folder


@pytest.mark.real_weights
def test_a_folder_with_a_broken_file_as_json(album, loaded_once, capsys):
    assert main([str(album), "--json"]) == 1
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    sources = ["astronaut.png", "broken.png", "more/coffee.jpg"]
    assert [record["source"] for record in records] == [str(album / name) for name in sources]
    assert len(records[0]["detections"]) == 1 and records[2]["detections"] == []
    assert "damaged or truncated" in records[1]["error"]
    assert captured.err.count("\n") == 1 and "broken.png" in captured.err


@pytest.mark.real_weights
def test_csv_one_row_per_box_and_per_image_without_any(album, tmp_path, loaded_once, capsys):
    listing = tmp_path / "todo.txt"
    listing.write_text("album/astronaut.png\nalbum/more/coffee.jpg\n")
    assert main([str(listing), "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert tuple(rows[0]) == CSV_COLUMNS
    face, cup = rows
    assert face["label"] == "face" and 0.9 < float(face["score"]) <= 1
    assert 0 <= float(face["x1"]) < float(face["x2"]) <= 512
    assert cup["source"].endswith("coffee.jpg") and cup["label"] == cup["x1"] == ""


@pytest.mark.real_weights
def test_save_dir_keeps_images_of_the_same_name_apart(tmp_path, loaded_once, capsys):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        Image.fromarray(data.astronaut()).save(tmp_path / folder / "photo.png")
    save_dir = tmp_path / "drawn"
    assert main([str(tmp_path / "*" / "photo.png"), "--save-dir", str(save_dir)]) == 0
    written = sorted(path.name for path in save_dir.iterdir())
    assert written == ["photo_2_detections.png", "photo_detections.png"]
    assert capsys.readouterr().out.count("1 found") == 2


def test_a_source_that_matches_nothing_stops_before_loading(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(Predictor, "load", lambda *args, **options: pytest.fail("loaded"))
    assert main([str(tmp_path / "missing.jpg")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"error: {tmp_path / 'missing.jpg'}: no such file or folder"
