"""Verified exports of a generator: every format written from a tiny GAN run, loaded back and
scored by its fidelity to the Keras generator's images; a bad export is refused."""

import numpy as np
import pytest

from apps.gan import SPEC, train
from apps.gan.config import FinetuneConfig
from apps.gan.export import CHECK_LATENTS, export_run
from shared import export as shared_export
from shared import export_check
from shared.export_metrics import Fidelity
from shared.lifecycle import run_training
from tests.gan.blobs import write_blob_folder

FORMATS = tuple(shared_export.FORMATS)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny DCGAN run trained with every export asked for: (run, its report)."""
    folder = write_blob_folder(tmp_path_factory.mktemp("blobs"))
    config = FinetuneConfig.tiny(
        data=str(folder),
        architecture="dcgan",
        runs_dir=str(tmp_path_factory.mktemp("runs")),
        export=FORMATS,
    )
    run = run_training("gan", config, train, verbose=0)
    return run, export_check.read_report(run)


def test_every_format_is_written_and_matches_the_keras_generator(exported):
    run, report = exported
    assert report["metric"] == "fidelity" and report["examples"] == CHECK_LATENTS
    rows = {row["format"]: row for row in report["exports"]}
    assert list(rows) == [export.format for export in shared_export.FORMATS.values()]
    for name in ("saved_model", "tflite_float32", "onnx"):
        assert rows[name]["status"] == "ok" and rows[name]["psnr_db"] > 60, rows[name]
        assert rows[name]["max_abs_diff"] < 0.5  # of 255 levels
    assert rows["tflite_float16"]["psnr_db"] > 35
    for row in rows.values():  # int8 is kept or refused by its own score
        assert row["size_mb"] > 0 and row["ms_per_example"] > 0
        assert (row["status"] == "refused") == (row["psnr_db"] < 30), row
        assert run.artifact(row["path"]).exists()
    assert SPEC.exporters[0].is_done(run)  # the Runs page offers no second export


def test_the_table_names_the_metric_and_its_tolerance(exported):
    _, report = exported
    text = export_check.format_report(report)
    assert "PSNR vs Keras (dB)" in text.splitlines()[0]
    assert f"{CHECK_LATENTS} inputs" in text and "under 30 dB PSNR" in text


def test_a_reloaded_run_exports_the_same_and_a_broken_export_is_refused(exported, monkeypatch):
    run, _ = exported

    def noisy(path):  # outputs 40 levels off: clearly another image
        return lambda batch: np.full((len(batch), 16, 16, 3), 40.0, "float32")

    monkeypatch.setitem(export_check.LOADERS, "onnx", noisy)
    report = export_run(run, formats=("saved_model", "onnx"))
    rows = {row["format"]: row for row in report["exports"]}
    assert rows["saved_model"]["status"] == "ok" and rows["saved_model"]["psnr_db"] > 60
    assert rows["onnx"]["status"] == "refused" and rows["onnx"]["psnr_db"] < 30
    assert [row["format"] for row in export_check.accepted_exports(report)] == ["saved_model"]


def test_fidelity_scores_identical_and_noisy_outputs():
    metric = Fidelity(min_psnr_db=30, value_range=255.0)
    images = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 3)).astype("float32")
    fields, refused = metric.score(images, images, {})
    assert fields == {"psnr_db": Fidelity.MAX_PSNR_DB, "max_abs_diff": 0.0} and not refused
    fields, refused = metric.score(images + 25.5, images, {})  # RMSE 25.5: 20 dB
    assert fields["psnr_db"] == pytest.approx(20.0) and refused


def test_a_bad_format_is_refused_before_training():
    with pytest.raises(ValueError, match="export accepts saved_model"):
        FinetuneConfig.tiny(data="x", export=("gif",)).validate()
