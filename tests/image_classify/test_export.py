"""Verified exports of a tiny classifier run: every format written, loaded back and scored."""

import contextlib
import io
import shutil

import numpy as np
import pytest

from apps.image_classify import export as export_module
from apps.image_classify import finetune as finetune_module
from apps.image_classify.config import EXPORT_FORMATS, FinetuneConfig
from apps.image_classify.data import load_folder, synthetic_shapes, write_image_folder
from apps.image_classify.model import load_classifier, serving_model
from shared import export as shared_export
from shared import export_check, runs

APP = "image_classify"
CLASS_NAMES = ["circle", "square", "stripes"]  # the folder names, sorted
FORMATS = ("saved_model", "tflite_float32", "tflite_float16", "tflite_int8", "onnx")


@pytest.fixture(scope="module")
def shapes_folder(tmp_path_factory):
    """10 images per class; half held out: 15 validation images."""
    folder = tmp_path_factory.mktemp("data") / "shapes"
    return write_image_folder(synthetic_shapes(num_per_class=10, image_size=32), folder)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, shapes_folder, tiny_classifier_preset):
    """A feature-extraction run asked for every export: (run, runs dir, printed output)."""
    runs_dir = tmp_path_factory.mktemp("runs")
    argv = [
        *("--data", str(shapes_folder), "--model", str(tiny_classifier_preset)),
        *("--epochs", "10", "--learning-rate", "0.03", "--patience", "10"),
        *("--batch-size", "8", "--image-size", "32", "--validation-split", "0.5"),
        *("--no-tensorboard", "--runs-dir", str(runs_dir), "--export", *EXPORT_FORMATS),
    ]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert finetune_module.main(argv) == 0
    (run,) = runs.list_runs(APP, runs_dir=runs_dir)
    assert run.labels == CLASS_NAMES
    return run, runs_dir, out.getvalue()


def test_every_format_is_written_and_scored_like_the_keras_model(exported):
    run, _, _ = exported
    report = export_check.read_report(run)
    assert report["examples"] == 15 and report["tolerance_points"] == 2.0
    # the Keras serving model on raw pixels scores what training reported on the same split
    assert report["keras"]["accuracy"] == pytest.approx(run.metrics["accuracy"])
    assert report["keras"]["ms_per_example"] > 0
    rows = {row["format"]: row for row in report["exports"]}
    assert list(rows) == list(FORMATS)
    for name, row in rows.items():
        assert run.artifact(row["path"]).exists() and 0 < row["size_mb"] < 5
        assert row["ms_per_example"] > 0
        # int8 on a 15-image split of a tiny model may flip one borderline image (6.7
        # points): kept or refused by its own score; the float formats agree exactly
        assert (row["status"] == "refused") == (row["drop_points"] > 2.0), row
        if name != "tflite_int8":
            assert row["status"] == "ok", row
            assert row["accuracy"] == pytest.approx(report["keras"]["accuracy"], abs=0.02)
            assert row["agreement"] >= 0.98 and abs(row["drop_points"]) <= 2.0
    sizes = {name: row["size_mb"] for name, row in rows.items()}
    assert sizes["tflite_float16"] < sizes["tflite_float32"]
    assert sizes["tflite_int8"] < sizes["tflite_float32"]
    offered = {row["format"] for row in export_check.accepted_exports(report)}
    assert offered >= {"saved_model", "tflite_float32", "tflite_float16", "onnx"}


def test_the_finetune_command_prints_the_table(exported):
    _, _, printed = exported
    assert "format" in printed and "drop (points)" in printed and "ms/example" in printed
    for name in ("keras", *FORMATS):
        assert f"\n{name} " in printed
    assert "loses more than 2 accuracy points is refused" in printed


def test_each_export_loads_back_with_the_keras_outputs(exported, shapes_folder):
    run, runs_dir, _ = exported
    task, _, _ = load_classifier(run.ref, runs_dir=runs_dir)
    images = load_folder(shapes_folder, 32).images[::3].astype("float32")
    expected = np.asarray(serving_model(task).predict(images, verbose=0))
    tolerances = {"tflite_float16": 0.05, "tflite_int8": 0.5}
    for export in export_module.FORMATS.values():
        predict = export_check.LOADERS[export.runtime](run.artifact(export.path))
        outputs = predict(images)
        atol = tolerances.get(export.format, 1e-4)
        np.testing.assert_allclose(outputs, expected, atol=atol * np.abs(expected).max() + 1e-5)


def _garbage_loader(path):
    """A loader whose model answers a wrong class for every synthetic shape.

    A shape's colour gives its class away: red 220, green 40 + 80 × its index in
    ``synthetic_shapes``' class names (square, circle, stripes; the run's are sorted).
    """
    run_class = [CLASS_NAMES.index(name) for name in ("square", "circle", "stripes")]

    def predict(batch):
        classes = []
        for image in batch:
            green = image[image[..., 0] == 220][:, 1]
            classes.append(run_class[int(round((np.median(green) - 40) / 80))])
        return np.eye(3, dtype="float32")[(np.asarray(classes) + 1) % 3]

    return predict


def test_a_broken_export_is_refused_and_not_offered(exported, monkeypatch):
    run, _, _ = exported
    shutil.rmtree(run.artifact("export"))  # all made again from the reloaded run
    monkeypatch.setitem(export_check.LOADERS, "tflite", _garbage_loader)
    report = export_module.export_classifier(run)  # reloads the data from the run's config
    assert report["keras"]["accuracy"] > 0.1
    rows = {row["format"]: row for row in report["exports"]}
    for name in ("tflite_float32", "tflite_float16", "tflite_int8"):
        assert rows[name]["status"] == "refused" and rows[name]["accuracy"] == 0.0
        assert rows[name]["drop_points"] == pytest.approx(
            100 * report["keras"]["accuracy"], abs=0.01
        )
    assert rows["saved_model"]["status"] == "ok" and rows["onnx"]["status"] == "ok"
    offered = [row["format"] for row in export_check.accepted_exports(report)]
    assert offered == ["saved_model", "onnx"]
    assert export_check.read_report(run) == report
    assert "refused" in export_check.format_report(report)
    assert shared_export.has_every_export(run)


def test_a_format_that_cannot_be_converted_is_a_failed_row(exported, monkeypatch):
    run, runs_dir, _ = exported

    def no_converter(model, path):
        raise ImportError("ONNX export needs the tf2onnx package")

    monkeypatch.setattr(shared_export, "export_onnx", no_converter)
    task, _, _ = load_classifier(run.ref, runs_dir=runs_dir)
    data = load_folder(run.config["data"], 32)
    report = export_module.export_run(
        run, task, data, formats=("saved_model", "onnx"), validation_split=0.5, seed=42
    )
    assert [row["format"] for row in report["exports"]] == ["saved_model", "onnx"]
    failed = report["exports"][1]
    assert failed["status"] == "failed" and "tf2onnx" in failed["error"]
    assert "failed: ImportError" in export_check.format_report(report)
    assert not shared_export.has_every_export(run)


def test_the_export_formats_are_the_config_choices():
    assert tuple(export_module.FORMATS) == EXPORT_FORMATS
    with pytest.raises(ValueError, match="export accepts saved_model, tflite"):
        FinetuneConfig(data="d", export=("tflite", "coreml")).validate()
