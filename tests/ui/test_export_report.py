"""The Runs page shows a run's export check table and offers only the exports that passed."""

from shared import runs
from shared.export_check import REPORT, write_report
from tests.ui import apptest

TIMEOUT = 120


def _row(name, path, status, accuracy):
    return {
        "format": name,
        "path": path,
        "size_mb": 1.5,
        "accuracy": accuracy,
        "drop_points": round(100 * (0.9 - accuracy), 2),
        "agreement": accuracy / 0.9,
        "ms_per_example": 2.0,
        "status": status,
    }


def test_the_export_tab_shows_the_table_and_hides_refused_exports(runs_dir):
    run = runs.new_run("image_classify", {"epochs": 1}, name="exported")
    run.save_metrics({"accuracy": 0.9})
    run.artifact("model").mkdir()
    exports = [
        _row("saved_model", "export/saved_model", "ok", 0.9),
        _row("tflite_float32", "export/model.tflite", "ok", 0.9),
        _row("tflite_float16", "export/model_float16.tflite", "ok", 0.9),
        _row("tflite_int8", "export/model_int8.tflite", "refused", 0.5),
        {"format": "onnx", "path": "export/model.onnx", "status": "failed", "error": "E: no"},
    ]
    for row in exports:
        path = run.artifact(row["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        if row["format"] == "saved_model":
            path.mkdir()
            (path / "saved_model.pb").write_bytes(b"pb")
        else:
            path.write_bytes(b"model")
    report = {
        "examples": 20,
        "tolerance_points": 2.0,
        "keras": {"format": "keras", "accuracy": 0.9, "ms_per_example": 3.0},
        "exports": exports,
    }
    write_report(report, run.artifact(REPORT))
    run.set_status("complete")

    at = apptest.open_page("app_pages/runs.py", timeout=TIMEOUT)
    assert not at.exception and not at.error
    table = at.dataframe[-1].value
    assert table["format"].tolist() == [
        "keras",
        "saved_model",
        "tflite_float32",
        "tflite_float16",
        "tflite_int8",
        "onnx",
    ]
    assert table["status"].tolist()[-2:] == ["refused", "failed: E: no"]
    captions = " ".join(caption.value for caption in at.caption)
    assert "20 held-out examples" in captions and "more than 2 accuracy points" in captions
    downloads = [element.proto.label for element in at.get("download_button")]
    assert downloads == [
        "Download the model",
        "Download saved_model",
        "Download tflite_float32",
        "Download tflite_float16",
    ]
    assert not [button for button in at.button if button.label.startswith("Export")]
