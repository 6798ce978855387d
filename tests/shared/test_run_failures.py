"""A fine-tune that cannot go on ends with one line and an honest status, never a traceback.

Full disk, an unwritable run folder, a run deleted while it trains, and ``--resume`` of a
run that is already complete, through the image classifier's ``finetune`` command.
"""

import errno
import shutil
from collections import namedtuple
from pathlib import Path

import keras
import pytest

from apps.image_classify import finetune as finetune_module
from apps.image_classify import train as train_module
from apps.image_classify.data import synthetic_shapes, write_image_folder
from shared import resumable, runs

APP = "image_classify"


@pytest.fixture(scope="module")
def shapes_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "shapes"
    return write_image_folder(synthetic_shapes(num_per_class=5, image_size=32), folder)


def _main(shapes_folder, preset, runs_dir, *extra):
    return finetune_module.main(
        [
            "--data",
            str(shapes_folder),
            "--model",
            str(preset),
            "--epochs",
            "2",
            "--batch-size",
            "4",
            "--image-size",
            "32",
            "--runs-dir",
            str(runs_dir),
            *extra,
        ]
    )


def _one_line_error(capsys):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


class DeleteRunAtSecondEpoch(keras.callbacks.Callback):
    def __init__(self, runs_dir):
        super().__init__()
        self.runs_dir = runs_dir

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            (run,) = runs.list_runs(APP, runs_dir=self.runs_dir)
            shutil.rmtree(run.path)


def test_a_run_deleted_while_training_stays_deleted(
    shapes_folder, tiny_classifier_preset, runs_dir, monkeypatch, capsys
):
    original = train_module.train

    def with_deleter(prepared, config, plan, run, *, callbacks=(), verbose=1):
        callbacks = [DeleteRunAtSecondEpoch(runs_dir), *callbacks]
        return original(prepared, config, plan, run, callbacks=callbacks, verbose=verbose)

    monkeypatch.setattr(train_module, "train", with_deleter)
    assert _main(shapes_folder, tiny_classifier_preset, runs_dir) == 2
    assert "was deleted while training" in _one_line_error(capsys)
    assert runs.list_runs(APP, runs_dir=runs_dir) == []
    assert list((runs_dir / APP).iterdir()) == []


def test_a_full_disk_fails_the_run_with_one_line(
    shapes_folder, tiny_classifier_preset, runs_dir, monkeypatch, capsys
):
    usage, disk_usage = namedtuple("usage", "total used free"), resumable.shutil.disk_usage

    def full_runs_disk(path):  # the run's disk is full; the decoded images' disk is not
        inside = Path(path).resolve().is_relative_to(runs_dir.resolve())
        return usage(1, 1, 0) if inside else disk_usage(path)

    monkeypatch.setattr(resumable.shutil, "disk_usage", full_runs_disk)
    assert _main(shapes_folder, tiny_classifier_preset, runs_dir) == 2
    assert "No space left on device" in _one_line_error(capsys)
    (run,) = runs.list_runs(APP, runs_dir=runs_dir)
    assert run.state == "failed" and "No space left on device" in run.status["message"]
    assert not list(run.path.rglob(".partial-*"))


def test_a_full_disk_still_records_the_failure(tmp_path, monkeypatch):
    run = runs.new_run(APP, {"seed": 1}, runs_dir=tmp_path)

    def no_room_for_a_copy(path, obj):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runs, "atomic_write_json", no_room_for_a_copy)
    run.set_status("failed", message="disk full")
    assert run.status["state"] == "failed" and run.status["message"] == "disk full"


def test_an_unwritable_run_folder_reports_the_first_error(
    shapes_folder, tiny_classifier_preset, runs_dir, monkeypatch, capsys
):
    def read_only(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", "runs/status.json")

    def failing_save(model, path):
        monkeypatch.setattr(runs, "atomic_write_json", read_only)  # status too, from now on
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(resumable, "atomic_save_weights", failing_save)
    monkeypatch.setattr(
        resumable.AtomicModelCheckpoint, "_save_model", lambda *args, **kwargs: None
    )
    assert _main(shapes_folder, tiny_classifier_preset, runs_dir) == 2
    assert "Permission denied" in _one_line_error(capsys)


def test_resuming_a_complete_run_changes_nothing(
    shapes_folder, tiny_classifier_preset, runs_dir, capsys
):
    assert _main(shapes_folder, tiny_classifier_preset, runs_dir) == 0
    (run,) = runs.list_runs(APP, runs_dir=runs_dir)
    before = {path: path.stat().st_mtime_ns for path in run.path.rglob("*")}
    capsys.readouterr()

    assert _main(shapes_folder, tiny_classifier_preset, runs_dir, "--resume", run.ref) == 0

    out = capsys.readouterr().out.strip().splitlines()
    assert out == [f"run {run.ref} is already complete, nothing to resume; files in {run.path}"]
    assert {path: path.stat().st_mtime_ns for path in run.path.rglob("*")} == before
    assert run.state == "complete"
