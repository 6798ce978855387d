"""Tests for shared.export (TFLite precisions, ONNX) and shared.export_check (the table)."""

import keras
import numpy as np
import pytest

from shared import export_check
from shared.export import export_onnx, export_saved_model, export_tflite
from shared.export_check import Export, check_exports, format_report, report_rows
from shared.export_metrics import Score

EXAMPLES = np.eye(4, dtype="float32")[np.arange(40) % 4] * 3.0  # one-hot rows, scaled
LABELS = np.arange(40) % 4


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An identity-like 4-class model (perfect on EXAMPLES) in every format: (model, root)."""
    root = tmp_path_factory.mktemp("exports")
    inputs = keras.Input((4,), name="features")
    model = keras.Model(inputs, keras.layers.Dense(4, kernel_initializer="identity")(inputs))
    model.predict(EXAMPLES[:1], verbose=0)
    saved_model = export_saved_model(model, root / "saved_model")
    export_tflite(saved_model, root / "model.tflite")
    export_tflite(
        saved_model, root / "model_int8.tflite", precision="int8", representative=EXAMPLES
    )
    export_onnx(model, root / "model.onnx")
    return model, root


EXPORTS = [
    Export("saved_model", "saved_model", "saved_model"),
    Export("tflite_float32", "model.tflite", "tflite"),
    Export("tflite_int8", "model_int8.tflite", "tflite"),
    Export("onnx", "model.onnx", "onnx"),
]


def test_every_export_matches_the_keras_model(exported):
    model, root = exported
    report = check_exports(model, EXPORTS, root, EXAMPLES, LABELS, batch_size=16)
    assert report["examples"] == 40 and report["keras"]["accuracy"] == 1.0
    assert [row["format"] for row in report["exports"]] == [e.format for e in EXPORTS]
    for row in report["exports"]:
        assert row["status"] == "ok" and row["accuracy"] == 1.0 and row["drop_points"] == 0.0
        assert row["agreement"] == 1.0 and row["size_mb"] > 0 and row["ms_per_example"] > 0
    text = format_report(report)
    assert text.splitlines()[0].split()[:2] == ["format", "size"]
    assert "40 held-out examples" in text and "more than 2 accuracy points" in text


def test_an_export_that_drops_accuracy_is_refused(exported, monkeypatch):
    model, root = exported

    def reversed_scores(path):
        return lambda batch: -np.asarray(batch)  # the lowest score wins: always wrong

    monkeypatch.setitem(export_check.LOADERS, "onnx", reversed_scores)
    report = check_exports(model, EXPORTS, root, EXAMPLES, LABELS)
    onnx = report["exports"][-1]
    assert onnx["status"] == "refused" and onnx["accuracy"] == 0.0
    assert onnx["drop_points"] == 100.0 and onnx["agreement"] == 0.0
    assert [row["format"] for row in export_check.accepted_exports(report)] == [
        "saved_model",
        "tflite_float32",
        "tflite_int8",
    ]
    loose = check_exports(model, EXPORTS, root, EXAMPLES, LABELS, tolerance=100.0)
    assert loose["exports"][-1]["status"] == "ok"


def test_an_export_that_cannot_be_loaded_is_a_failed_row(exported, tmp_path):
    model, _ = exported
    (tmp_path / "model.tflite").write_bytes(b"not a flatbuffer")
    report = check_exports(
        model, [Export("tflite_float32", "model.tflite", "tflite")], tmp_path, EXAMPLES, LABELS
    )
    (row,) = report["exports"]
    assert row["status"] == "failed" and row["error"]
    assert export_check.accepted_exports(report) == []
    assert report_rows(report)[1]["status"].startswith("failed: ")


def test_int8_needs_representative_inputs_and_precisions_are_checked(exported, tmp_path):
    _, root = exported
    with pytest.raises(ValueError, match="representative"):
        export_tflite(root / "saved_model", tmp_path / "m.tflite", precision="int8")
    with pytest.raises(ValueError, match="precision must be one of"):
        export_tflite(root / "saved_model", tmp_path / "m.tflite", precision="int4")


def _first_column_mean(outputs):
    """A stand-in for a decoded score: the mean of the first output, a value in [0, 1]."""
    return float(np.clip(np.asarray(outputs)[:, 0], 0, 1).mean())


def test_a_held_out_score_names_its_column_and_refuses_a_drop(exported, monkeypatch):
    model, root = exported
    metric = Score("mAP50", _first_column_mean, tolerance=2.0)
    report = check_exports(model, EXPORTS, root, EXAMPLES, metric=metric, batch_size=16)
    assert report["metric"] == "score" and report["label"] == "mAP50"
    assert report["keras"]["score"] == pytest.approx(0.25)  # a quarter of the rows start at 3
    for row in report["exports"]:
        assert row["status"] == "ok" and row["score"] == pytest.approx(0.25, abs=0.01), row
        assert row["drop_points"] <= 1.0
    text = format_report(report)
    assert text.splitlines()[0].split()[:5] == ["format", "size", "(MB)", "mAP50", "drop"]
    assert "loses more than 2 mAP50 points" in text

    def halved(path):  # an export whose first output is 0.5, not 3: the score drops 12.5 points
        return lambda batch: np.asarray(batch) * np.array([0.5 / 3, 1, 1, 1], "float32")

    monkeypatch.setitem(export_check.LOADERS, "onnx", halved)
    report = check_exports(model, EXPORTS, root, EXAMPLES, metric=metric)
    onnx = report["exports"][-1]
    assert onnx["status"] == "refused" and onnx["drop_points"] == pytest.approx(12.5)
    assert len(export_check.accepted_exports(report)) == 3


def test_report_columns_come_from_the_report():
    keras_row = {"format": "keras", "score": 0.9, "ms_per_example": 1.0}
    row = {"format": "onnx", "path": "m.onnx", "size_mb": 1.0, "score": 0.5, "drop_points": 40.0}
    row |= {"ms_per_example": 1.0, "status": "refused"}
    report = {"examples": 4, "metric": "score", "label": "PCK", "tolerance_points": 2.0}
    report |= {"keras": keras_row, "exports": [row]}
    rows = report_rows(report)
    assert list(rows[1]) == ["format", "size (MB)", "PCK", "drop (points)", "ms/example", "status"]
    assert rows[0]["PCK"] == 0.9 and rows[1]["drop (points)"] == 40.0
    older = {"examples": 4, "tolerance_points": 2.0, "keras": {"accuracy": 1.0}, "exports": []}
    older["keras"]["ms_per_example"] = 1.0  # an accuracy report from before "metric"
    assert list(report_rows(older)[0])[2:5] == ["accuracy", "drop (points)", "agreement"]
    assert "2 accuracy points" in export_check.tolerance_note(older)
