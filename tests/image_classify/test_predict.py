"""Tests for apps.image_classify.predict: real weights on real photos, a tiny run, the CLI."""

import json

import numpy as np
import pytest

from apps.image_classify.model import imagenet_labels
from apps.image_classify.predict import main
from apps.image_classify.predictor import Predictor
from shared import runs
from shared.images import encode_png

CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}
TINY_LABELS = ["red", "green", "blue"]


@pytest.fixture(scope="module")
def lite0():
    return Predictor.load("bundled:efficientnet_lite0")


@pytest.fixture
def png_files(tmp_path, chelsea, coffee):
    paths = [tmp_path / "chelsea.png", tmp_path / "coffee.png"]
    for path, image in zip(paths, (chelsea, coffee)):
        path.write_bytes(encode_png(image))
    return paths


@pytest.mark.real_weights
def test_chelsea_is_a_cat(lite0, chelsea):
    result = lite0.predict(chelsea)
    assert {prediction.label for prediction in result.predictions} & CATS
    assert result.predictions[0].label in CATS
    assert result.model == "bundled:efficientnet_lite0"
    assert lite0.labels == imagenet_labels() and lite0.image_size == (224, 224)


@pytest.mark.real_weights
def test_coffee_is_espresso(lite0, coffee):
    result = lite0.predict(coffee, top_k=3)
    assert len(result.predictions) == 3
    assert result.predictions[0].label == "espresso"
    assert result.predictions[0].score > 0.5
    scores = [prediction.score for prediction in result.predictions]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.real_weights
def test_batch_equals_single_predictions(lite0, chelsea, coffee):
    batch = lite0.predict([chelsea, coffee], source=["chelsea", "coffee"])
    assert [result.source for result in batch] == ["chelsea", "coffee"]
    for result, image in zip(batch, (chelsea, coffee)):
        single = lite0.predict(image)
        assert [p.index for p in result.predictions] == [p.index for p in single.predictions]
        np.testing.assert_allclose(
            [p.score for p in result.predictions],
            [p.score for p in single.predictions],
            rtol=1e-4,
            atol=1e-6,
        )


@pytest.mark.real_weights
def test_gradcam_heatmap(lite0, chelsea):
    heatmap = lite0.gradcam(chelsea)
    assert heatmap.shape == chelsea.shape[:2]
    assert heatmap.dtype == np.float32
    assert heatmap.min() >= 0.0 and heatmap.max() <= 1.0
    assert heatmap.max() - heatmap.min() > 0.1


@pytest.mark.real_weights
def test_cli_json_lines(png_files, capsys):
    assert main([str(path) for path in png_files] + ["--json", "--top-k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(png_files)
    for line, path in zip(lines, png_files):
        result = json.loads(line)
        assert {"predictions", "model", "latency_ms"} <= set(result)
        assert result["model"] == "bundled:efficientnet_lite0"
        assert result["source"] == str(path)
        assert result["latency_ms"] >= 0
        assert len(result["predictions"]) == 3
        assert all(set(p) == {"index", "label", "score"} for p in result["predictions"])
    assert json.loads(lines[1])["predictions"][0]["label"] == "espresso"


def test_cli_non_image_file(tmp_path, tiny_classifier_preset, capsys):
    notes = tmp_path / "notes.png"
    notes.write_text("not an image\n")
    assert main([str(notes), "--json", "--model", str(tiny_classifier_preset)]) == 1
    captured = capsys.readouterr()
    [record] = [json.loads(line) for line in captured.out.splitlines()]
    assert record["source"] == str(notes) and "text, not an image" in record["error"]
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "notes.png" in lines[0]


def test_cli_unknown_model(png_files, capsys):
    assert main([str(png_files[0]), "--model", "no_such_model"]) == 2
    assert capsys.readouterr().err.startswith("error: Unknown model reference")


def test_preset_dir_without_labels_gets_numbered_classes(tiny_classifier_preset):
    predictor = Predictor.load(str(tiny_classifier_preset))
    assert predictor.labels == ["class_0", "class_1", "class_2"]


@pytest.fixture
def tiny_run(runs_dir, tiny_classifier_preset):
    """A complete image_classify run holding the tiny 3-class model; returns (run, task)."""
    import keras_hub

    run = runs.new_run("image_classify", {"model": "tiny", "num_classes": 3})
    task = keras_hub.models.ImageClassifier.from_preset(str(tiny_classifier_preset))
    task.save(run.model_path)
    run.save_labels(TINY_LABELS)
    run.set_status("complete")
    return run, task


@pytest.mark.filterwarnings("ignore:`compile\\(\\)` was not called:UserWarning")
def test_tiny_fine_tuned_run(tiny_run, chelsea, coffee):
    run, task = tiny_run
    predictor = Predictor.load(run.ref)
    batch = predictor.resize([chelsea, coffee])
    np.testing.assert_allclose(predictor.logits([chelsea, coffee]), task.predict_on_batch(batch))
    assert predictor.labels == TINY_LABELS and predictor.ref == run.ref
    assert predictor.image_size == (32, 32)
    results = predictor.predict([chelsea, coffee], top_k=5)
    for result in results:
        assert result.model == run.ref
        assert len(result.predictions) == 3  # top_k is capped at the number of classes
        assert {p.label for p in result.predictions} == set(TINY_LABELS)
        assert all(p.label == TINY_LABELS[p.index] for p in result.predictions)
        assert sum(p.score for p in result.predictions) <= 1 + 1e-5
    heatmap = predictor.gradcam(chelsea, class_index=1)
    assert heatmap.shape == chelsea.shape[:2]
    assert heatmap.min() >= 0.0 and heatmap.max() <= 1.0
