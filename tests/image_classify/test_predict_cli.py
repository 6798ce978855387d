"""The classification predict CLI on the tiny preset: sources, per-file errors, CSV, batches
padded to one shape, and no retracing after the warm-up."""

import csv
import io
import json

import numpy as np
import pytest

from apps.image_classify import predict
from apps.image_classify.predict import main
from apps.image_classify.predictor import Predictor
from shared.images import encode_png


@pytest.fixture
def album(tmp_path):
    """``album/`` with five small PNGs, two of them in a subfolder."""
    rng = np.random.default_rng(0)
    paths = []
    for relative in ("a.png", "b.png", "c.png", "sub/d.png", "sub/e.png"):
        path = tmp_path / "album" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode_png(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)))
        paths.append(path)
    return paths


@pytest.fixture
def loads(monkeypatch):
    """The predictors ``main`` loads; after each load, counts the model's traced calls."""
    loaded, original = [], Predictor.load.__func__

    def load_and_count(cls, *args, **options):
        predictor = original(cls, *args, **options)
        predictor.model_calls = 0
        model_class, model_call = type(predictor.task), type(predictor.task).call

        def counting_call(model, *call_args, **call_options):
            # In a compiled function the Python body runs only while tracing.
            predictor.model_calls += 1
            return model_call(model, *call_args, **call_options)

        monkeypatch.setattr(model_class, "call", counting_call)
        loaded.append(predictor)
        return predictor

    monkeypatch.setattr(Predictor, "load", classmethod(load_and_count))
    return loaded


def json_lines(text):
    return [json.loads(line) for line in text.splitlines()]


def test_a_folder_a_glob_and_a_list_are_all_predicted(
    album, tmp_path, tiny_classifier_preset, capsys
):
    listing = tmp_path / "todo.txt"
    listing.write_text("# two of them\nalbum/a.png\n\nalbum/sub/e.png\n")
    sources = [str(tmp_path / "album"), str(tmp_path / "album" / "sub" / "*.png"), str(listing)]
    assert main([*sources, "--model", str(tiny_classifier_preset), "--json"]) == 0
    records = json_lines(capsys.readouterr().out)
    expected = [*album, album[3], album[4], tmp_path / "album/a.png", tmp_path / "album/sub/e.png"]
    assert [record["source"] for record in records] == [str(path) for path in expected]
    assert all(len(record["predictions"]) == 3 for record in records)


def test_an_unreadable_file_among_good_ones(album, tiny_classifier_preset, capsys):
    broken = album[0].with_name("broken.png")
    broken.write_bytes(b"\x89PNG\r\n\x1a\n then nothing")
    inputs = [str(album[1]), str(broken), str(album[2])]
    assert main([*inputs, "--model", str(tiny_classifier_preset), "--json"]) == 1
    captured = capsys.readouterr()
    records = json_lines(captured.out)
    assert [record["source"] for record in records] == inputs
    assert "predictions" in records[0] and "predictions" in records[2]
    assert set(records[1]) == {"source", "error"} and "broken.png" in records[1]["error"]
    [error_line] = captured.err.splitlines()
    assert error_line.startswith("error: ") and "broken.png" in error_line


def test_csv_has_one_row_per_image(album, tiny_classifier_preset, capsys):
    arguments = [str(path) for path in album[:3]]
    assert main([*arguments, "--model", str(tiny_classifier_preset), "--csv", "--top-k", "2"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["source"] for row in rows] == arguments
    assert tuple(rows[0]) == predict.csv_columns(2)
    for row in rows:
        assert row["label"].startswith("class_") and row["label_2"].startswith("class_")
        assert 0 < float(row["score_2"]) <= float(row["score"]) <= 1
        assert row["model"] == str(tiny_classifier_preset) and row["error"] == ""


def test_the_last_batch_is_padded_without_retracing(album, tiny_classifier_preset, loads, capsys):
    arguments = [str(path) for path in album]  # 5 images: batches of 2, 2 and 1 (+1 padding)
    assert main([*arguments, "--model", str(tiny_classifier_preset), "--batch-size", "2"]) == 0
    [predictor] = loads
    assert predictor.model_calls == 0  # the warm-up traced the one batch shape used
    output = capsys.readouterr().out
    assert [line.split("  (")[0] for line in output.splitlines() if "  (" in line] == arguments


def test_json_lines_equal_inputs_with_a_partial_last_batch(album, tiny_classifier_preset, capsys):
    arguments = [str(path) for path in album]
    assert (
        main([*arguments, "--model", str(tiny_classifier_preset), "--json", "--batch-size", "4"])
        == 0
    )
    records = json_lines(capsys.readouterr().out)
    assert [record["source"] for record in records] == arguments
    assert all(record["latency_ms"] > 0 for record in records)


def test_load_warms_up_at_the_batch_size_it_is_given(tiny_classifier_preset, loads):
    predictor = Predictor.load(str(tiny_classifier_preset), batch_size=3)
    images = [np.full((32, 32, 3), value, "uint8") for value in (0, 128, 255)]
    assert len(predictor.predict(images)) == 3
    assert predictor.model_calls == 0
    assert predictor.predict(images[0]).model == str(tiny_classifier_preset)  # batch 1 still works


def test_varying_batch_sizes_stop_retracing(tiny_classifier_preset, loads):
    predictor = Predictor.load(str(tiny_classifier_preset))
    for count in (2, 3, 4, 5, 1):  # e.g. the faces cropped from one photo after another
        predictor.predict([np.zeros((32, 32, 3), "uint8")] * count)
    assert predictor.model_calls == 1  # one generalised graph after the warm-up's


def test_a_source_that_matches_nothing_stops_before_loading(tmp_path, loads, capsys):
    assert main([str(tmp_path / "*.jpg")]) == 2
    assert loads == []
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ") and "no files ending in" in line
