"""Tests for shared.runs: the runs registry."""

import json
import os
import subprocess
import sys

import pytest

from shared import atomic_io, runs


def test_runs_root_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv(runs.RUNS_DIR_ENV, str(tmp_path / "from-env"))
    assert runs.runs_root(tmp_path / "explicit") == tmp_path / "explicit"
    assert runs.runs_root() == tmp_path / "from-env"
    monkeypatch.delenv(runs.RUNS_DIR_ENV)
    monkeypatch.chdir(tmp_path)
    assert runs.runs_root() == tmp_path / "runs"


def test_new_run_save_and_read_round_trip(tmp_path):
    run = runs.new_run("image_classify", {"epochs": 2}, runs_dir=tmp_path, name="flowers")
    assert run.path == tmp_path / "image_classify" / run.run_id
    assert run.ref == f"run:{run.run_id}"
    assert run.config == {"epochs": 2}
    status = run.status
    assert status["state"] == "running" and status["pid"] == os.getpid()
    assert status["name"] == "flowers" and status["created"].endswith("+00:00")
    run.save_metrics({"accuracy": 0.5})
    run.save_history({"loss": (1.0, 0.5)})
    run.save_labels(["cat", "dog"])
    assert run.metrics == {"accuracy": 0.5}
    assert run.history == {"loss": [1.0, 0.5]}
    assert run.labels == ["cat", "dog"]
    assert run.model_path == run.path / "model.keras"
    assert run.artifact("history.csv") == run.path / "history.csv"
    with pytest.raises(ValueError, match="escape"):
        run.artifact("../escape")
    run.set_status("complete")
    status = run.status
    assert status["state"] == "complete" and "pid" not in status
    assert status["created"] <= status["updated"]


def test_default_run_ids_are_sortable_and_unique(tmp_path):
    first = runs.new_run("gan", {}, runs_dir=tmp_path)
    second = runs.new_run("gan", {}, runs_dir=tmp_path)
    assert first.run_id != second.run_id
    date, time, suffix = first.run_id.split("-")
    assert len(date) == 8 and len(time) == 6 and len(suffix) == 6


def test_atomic_write_leaves_no_temp_files(tmp_path):
    atomic_io.atomic_write_json(tmp_path / "a.json", {"x": [1, 2]})
    atomic_io.atomic_write_json(tmp_path / "a.json", {"x": [3]})
    atomic_io.atomic_write_text(tmp_path / "b.txt", "hello")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.json", "b.txt"]
    assert atomic_io.read_json(tmp_path / "a.json") == {"x": [3]}
    assert atomic_io.read_json(tmp_path / "missing.json", default=7) == 7
    with pytest.raises(TypeError):
        atomic_io.atomic_write_json(tmp_path / "c.json", {"x": object()})
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.json", "b.txt"]


def test_list_runs_newest_first_and_complete_filter(tmp_path):
    made = [runs.new_run("speech", {}, runs_dir=tmp_path, run_id=f"r{index}") for index in range(3)]
    runs.new_run("translate", {}, runs_dir=tmp_path, run_id="t0")
    made[1].set_status("complete")
    assert [run.run_id for run in runs.list_runs("speech", runs_dir=tmp_path)] == [
        "r2",
        "r1",
        "r0",
    ]
    assert [run.run_id for run in runs.list_runs(runs_dir=tmp_path)] == [
        "t0",
        "r2",
        "r1",
        "r0",
    ]
    complete = runs.list_runs("speech", runs_dir=tmp_path, include_incomplete=False)
    assert [run.run_id for run in complete] == ["r1"]
    assert runs.list_runs("detection", runs_dir=tmp_path) == []


def test_dead_running_process_shows_as_interrupted(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    run = runs.new_run("detection", {}, runs_dir=tmp_path)
    run.set_status("running", pid=int(finished.stdout))
    assert run.status["state"] == "interrupted"
    assert runs.list_runs(runs_dir=tmp_path, include_incomplete=False) == []


def test_missing_or_corrupt_status_is_broken_never_complete(tmp_path):
    run = runs.new_run("gan", {}, runs_dir=tmp_path, run_id="corrupt")
    (run.path / "status.json").write_text('{"state": "compl')
    (tmp_path / "gan" / "no-status").mkdir()
    states = {run.run_id: run.state for run in runs.list_runs(runs_dir=tmp_path)}
    assert states == {"corrupt": "broken", "no-status": "broken"}
    assert runs.list_runs(runs_dir=tmp_path, include_incomplete=False) == []
    run.set_status("failed", message="out of memory")
    assert run.status["message"] == "out of memory"
    run.set_status("cancelled")
    assert "message" not in run.status
    with pytest.raises(ValueError, match="'done'"):
        run.set_status("done")


def test_open_run_by_ref_app_path_and_error_on_missing(tmp_path):
    run = runs.new_run("image_classify", {}, runs_dir=tmp_path, run_id="abc")
    assert runs.open_run("run:abc", runs_dir=tmp_path) == run
    assert runs.open_run("abc", runs_dir=tmp_path, app="image_classify") == run
    assert runs.open_run("image_classify/abc", runs_dir=tmp_path) == run
    with pytest.raises(ValueError, match=r"'run:nope'.*image_classify/abc"):
        runs.open_run("run:nope", runs_dir=tmp_path)
    runs.new_run("gan", {}, runs_dir=tmp_path, run_id="abc")
    with pytest.raises(ValueError, match=r"is in apps \[.gan., .image_classify.\]"):
        runs.open_run("abc", runs_dir=tmp_path)


def test_delete_run_refuses_paths_outside_the_root(tmp_path):
    run = runs.new_run("gan", {}, runs_dir=tmp_path / "runs", run_id="old")
    outside = runs.Run(path=tmp_path / "elsewhere" / "x", app="gan", run_id="x")
    outside.path.mkdir(parents=True)
    with pytest.raises(ValueError, match="refusing"):
        runs.delete_run(outside, runs_dir=tmp_path / "runs")
    with pytest.raises(ValueError, match="refusing"):
        runs.delete_run(
            runs.Run(path=tmp_path / "runs" / "gan", app="gan", run_id="."),
            runs_dir=tmp_path / "runs",
        )
    runs.delete_run(run, runs_dir=tmp_path / "runs")
    assert not run.path.exists() and outside.path.exists()


def test_status_json_is_plain_json(tmp_path):
    run = runs.new_run("speech", {"a": 1}, runs_dir=tmp_path)
    stored = json.loads((run.path / "status.json").read_text())
    assert stored["state"] == "running" and stored["hostname"]
