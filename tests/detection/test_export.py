"""Verified exports of a fine-tuned detector: every format written from a short CenterNet run
and a short YOLO run, loaded back, decoded and scored by mAP50 on the held-out images next to
the Keras model; an export that loses mAP is refused."""

import contextlib
import io

import keras
import numpy as np
import pytest

from apps.detection import SPEC, finetune, scenes, yolo_train
from apps.detection.config import FinetuneConfig
from apps.detection.export import (
    export_run,
    head_shapes,
    serving_yolo,
    split_heads,
    yolo_predictions,
)
from apps.detection.metrics import coco_map
from shared import export as shared_export
from shared import export_check
from shared.runs import list_runs

FORMATS = tuple(shared_export.FORMATS)
FLOAT_FORMATS = ("saved_model", "tflite_float32", "tflite_float16", "onnx")
NUM_SCENES, SIZE, EPOCHS = 8, 128, 10  # the Lite0 CenterNet reaches mAP50 0.94 on them


def _train(folder, runs_dir, *flags):
    """Fine-tune through the command line with every export; (run, its printed output)."""
    argv = ["--data", str(folder), "--batch-size", "8", "--no-augment", "--no-tensorboard"]
    argv += ["--map-every", "100", "--runs-dir", str(runs_dir), "--export", *FORMATS, *flags]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert finetune.main(argv) == 0
    [run] = list_runs("detection", runs_dir=runs_dir)
    return run, output.getvalue()


@pytest.fixture(scope="module")
def centernet(tmp_path_factory):
    """A CenterNet run on the bundled Lite0 that overfits a few scenes, exported in every
    format by ``--export``: (run, its report, the command's output)."""
    data = scenes.make_scenes(NUM_SCENES, image_size=SIZE, seed=0)
    folder = scenes.write_voc(data, tmp_path_factory.mktemp("scenes") / "voc")
    flags = ["--epochs", str(EPOCHS), "--image-size", str(SIZE), "--validation-split", "0"]
    run, output = _train(folder, tmp_path_factory.mktemp("runs"), *flags)
    return run, export_check.read_report(run), output


def _rows(report):
    return {row["format"]: row for row in report["exports"]}


@pytest.mark.real_weights
def test_every_format_is_written_and_scores_the_keras_map(centernet):
    run, report, _ = centernet
    assert report["metric"] == "score" and report["label"] == "mAP50"
    assert report["examples"] == NUM_SCENES  # no validation split: its training images
    keras_map = report["keras"]["score"]
    assert keras_map == pytest.approx(run.metrics["map50"]) and keras_map > 0.5
    rows = _rows(report)
    assert list(rows) == [export.format for export in shared_export.FORMATS.values()]
    for name in FLOAT_FORMATS:
        assert rows[name]["status"] == "ok", rows[name]
        assert abs(rows[name]["score"] - keras_map) <= 0.02, rows[name]
    for row in rows.values():  # int8 is kept or refused by its own score
        assert row["size_mb"] > 0 and row["ms_per_example"] > 0
        assert (row["status"] == "refused") == (row["drop_points"] > 2.0), row
        assert run.artifact(row["path"]).exists()
    assert SPEC.exporters[0].is_done(run)  # the Runs page offers no second export


@pytest.mark.real_weights
def test_the_command_prints_the_table_naming_map50(centernet):
    _, report, output = centernet
    assert export_check.format_report(report) in output
    header = output[output.index("format  ") :].splitlines()[0].split()
    assert header[:5] == ["format", "size", "(MB)", "mAP50", "drop"]
    assert f"Checked on {NUM_SCENES} held-out examples" in output
    assert "loses more than 2 mAP50 points is refused" in output


@pytest.mark.real_weights
def test_a_reexport_scores_the_same_and_a_broken_export_is_refused(centernet, monkeypatch):
    run, first, _ = centernet
    grid, channels = SIZE // 8, 3 + 4

    def no_objects(path):  # every heatmap logit at -10: nothing found
        return lambda batch: np.full((len(batch), grid, grid, channels), -10.0, "float32")

    monkeypatch.setitem(export_check.LOADERS, "onnx", no_objects)
    report = export_run(run, formats=("saved_model", "onnx"))
    assert report["keras"]["score"] == pytest.approx(first["keras"]["score"])
    rows = _rows(report)
    assert rows["saved_model"]["status"] == "ok" and rows["saved_model"]["drop_points"] == 0
    assert rows["onnx"]["status"] == "refused" and rows["onnx"]["score"] == 0.0
    assert [row["format"] for row in export_check.accepted_exports(report)] == ["saved_model"]


def test_yolo_heads_concatenate_into_one_output_and_split_back_exactly():
    keras.utils.set_random_seed(0)
    model, _, _, _ = yolo_train.build_model(3, 64, pretrained=False)
    shapes = head_shapes(model)
    assert shapes == [(2, 2, 24), (4, 4, 24)]
    serving = serving_yolo(model, 64)
    images = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    flat = serving.predict(images, verbose=0)
    assert flat.shape == (2, 2 * 2 * 24 + 4 * 4 * 24)
    heads = model.predict(keras.layers.Rescaling(1 / 255)(images), verbose=0)
    for part, head in zip(split_heads(flat, shapes), heads):
        np.testing.assert_array_equal(part, np.asarray(head))
    with pytest.raises(ValueError, match="outputs per image"):
        split_heads(flat[:, 1:], shapes)


def test_yolo_outputs_holding_the_true_boxes_score_full_map50():
    heads = [  # yolov3-tiny.cfg's at 416 px, two classes
        {"anchors": [[81, 82], [135, 169], [344, 319]], "classes": 2, "grid": 13},
        {"anchors": [[10, 14], [23, 27], [37, 58]], "classes": 2, "grid": 26},
    ]
    boxes = np.array([[130, 15, 270, 185], [30, 50, 41, 64], [300, 300, 380, 390]], "float32")
    labels = np.array([1, 0, 1])
    target = yolo_train.encode_targets(boxes, labels, heads, 416, num_classes=2)
    table = yolo_train.anchor_table(heads, 416)
    rows = np.full((len(table), 7), -10.0, "float32")  # raw logits: nothing anywhere
    for row in np.flatnonzero(target[: len(table), 4]):  # the responsible cells say the boxes
        cell, grid, anchor = table[row, :2], table[row, 2:4], table[row, 4:]
        centre = target[row, :2] * grid - cell
        rows[row, :2] = np.log(centre / (1 - centre))
        rows[row, 2:4] = np.log(target[row, 2:4] / anchor)
        rows[row, 4:] = np.where(target[row, 4:] > 0, 10.0, -10.0)
    flat = rows.reshape(1, -1)  # the coarse head's cells, then the fine head's
    shapes = [(13, 13, 21), (26, 26, 21)]
    [(found, scores, classes)] = yolo_predictions(flat, shapes, heads, 416)
    assert len(found) == 3 and sorted(classes.tolist()) == [0, 1, 1]
    assert coco_map([(boxes, labels)], [(found, scores, classes)], ["a", "b"])["map50"] == 1.0


@pytest.mark.real_weights
def test_a_yolo_run_exports_every_format_scored_on_its_validation_split(tmp_path):
    data = scenes.make_scenes(8, image_size=96, seed=0)
    folder = scenes.write_voc(data, tmp_path / "voc")
    flags = ["--model", "bundled:yolov3_tiny_coco", "--epochs", "2", "--image-size", "96"]
    run, output = _train(folder, tmp_path / "runs", *flags, "--validation-split", "0.25")
    report = export_check.read_report(run)
    assert run.metrics["split"] == "validation"
    assert report["examples"] == run.metrics["num_images"] == 2
    assert report["keras"]["score"] == pytest.approx(run.metrics["map50"])
    rows = _rows(report)
    assert list(rows) == [export.format for export in shared_export.FORMATS.values()]
    for name in FLOAT_FORMATS:
        assert rows[name]["status"] == "ok", rows[name]
    assert "mAP50" in output and SPEC.exporters[0].is_done(run)


def test_a_bad_format_is_refused_before_training():
    with pytest.raises(ValueError, match="export accepts saved_model, tflite"):
        FinetuneConfig.tiny(data="x", export=("gif",)).validate()
