"""The Train and Runs pages through ``AppTest``: dataset checks, jobs, runs, deletion."""

import shutil
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shared import jobs, runs
from shared.ui.inputs import UPLOAD_LIMITS_MB
from tests.ui import apptest
from tests.zips import zip_bytes

ROOT = Path(__file__).resolve().parents[2]
TRAIN = "app_pages/train.py"
RUNS = "app_pages/runs.py"
TIMEOUT = 120


@pytest.fixture
def registry(runs_dir, monkeypatch):
    """An empty runs registry (and its jobs folder) for one test."""
    monkeypatch.delenv(jobs.JOBS_DIR_ENV, raising=False)
    return runs_dir


def open_page(page, **query):
    return apptest.open_page(page, timeout=TIMEOUT, **query)


def error_text(at):
    return " ".join(error.value for error in at.error)


def start_with_zip(at, name, content):
    at.radio(key="train_source").set_value("Upload a .zip").run()
    at.file_uploader(key="train_zip").upload(name, content, "application/zip").run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    return at


def test_train_page_offers_the_trainable_apps(registry):
    at = open_page(TRAIN)
    assert not at.error
    titles = {"Image classification", "Object detection", "Speech to text", "Image generation"}
    assert titles <= set(at.selectbox(key="train_app").options)
    assert at.selectbox(key="train_app").value == "image_classify"
    assert at.selectbox(key="train_mode_image_classify").value == "feature_extract"
    assert at.radio(key="train_source").value == "Demo data"
    assert "No training jobs yet" in " ".join(info.value for info in at.info)


def test_modes_are_named_in_words_and_fine_tuning_says_it_trains_the_head_first(registry):
    at = open_page(TRAIN)
    mode = at.selectbox(key="train_mode_image_classify")
    assert mode.options == ["Feature extract", "Fine tune", "Scratch"]
    assert "trains the new head" not in " ".join(caption.value for caption in at.caption)
    mode.set_value("fine_tune").run()
    captions = " ".join(caption.value for caption in at.caption)
    assert "Fine tune first trains the new head for 5 epochs" in captions, captions
    assert "10 epochs in all" in captions


@pytest.mark.parametrize(
    ("name", "members", "message"),
    [
        ("slip.zip", [("cats/a.png", b"1"), ("../../evil.png", b"x")], "would leave"),
        ("abs.zip", [("/etc/evil.png", b"x")], "an absolute path"),
        ("empty.zip", [], "no files"),
        ("clash.zip", [("cats", b"a file"), ("cats/a.png", b"1")], "share a name"),
    ],
)
def test_unsafe_zip_uploads_are_refused(registry, name, members, message):
    at = start_with_zip(open_page(TRAIN), name, zip_bytes(members))
    assert len(at.error) == 1 and name in error_text(at) and message in error_text(at)
    assert not jobs.list_jobs()
    assert not (registry / "evil.png").exists() and not Path("/etc/evil.png").exists()


def test_not_a_zip_is_refused(registry):
    at = start_with_zip(open_page(TRAIN), "data.zip", b"PK\x03\x04 not really")
    assert "data.zip was refused: not a valid zip" in error_text(at)
    assert not jobs.list_jobs()


def test_an_oversized_zip_is_refused_with_the_limit(registry, monkeypatch):
    # The browser refuses larger files itself; the server checks again (uploads can skip it).
    monkeypatch.setitem(UPLOAD_LIMITS_MB, "zip", 1)
    at = start_with_zip(open_page(TRAIN), "big.zip", bytes(2 * 1024 * 1024))
    assert len(at.error) == 1 and "the limit for zip uploads is 1 MB" in error_text(at)
    assert not jobs.list_jobs()


def test_missing_folder_and_bad_tfds_names_are_refused(registry):
    at = open_page(TRAIN)
    at.radio(key="train_source").set_value("Path on the server").run()
    at.text_input(key="train_folder").input("/no/such/folder").run()
    at.button(key="train_start").click().run()
    assert "No folder or file '/no/such/folder'" in error_text(at)
    at.radio(key="train_source").set_value("TFDS dataset").run()
    at.text_input(key="train_tfds").input("../etc; rm -rf /").run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    assert "is not a TFDS dataset name" in error_text(at)
    assert not jobs.list_jobs()


def test_a_demo_job_starts_shows_progress_and_cancels(registry):
    at = open_page(TRAIN)
    at.button(key="train_start").click().run()
    assert not at.exception and not at.error, error_text(at)
    (job,) = jobs.list_jobs()
    assert job.app == "image_classify" and "--no-tensorboard" in job.command
    assert at.get("progress"), "no progress bar"
    cancel = next(button for button in at.button if button.key.startswith("train_cancel_"))
    cancel.click().run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    assert jobs.poll(job).state == "cancelled"
    assert "Cancelled" in " ".join(warning.value for warning in at.warning)


def test_a_finished_job_shows_curves_and_its_run(registry):
    body = f"""
        import json, os, pathlib, sys
        sys.path.insert(0, {str(ROOT)!r})
        from shared import runs
        job_dir = pathlib.Path(os.environ["TRANSFERZOO_JOB_DIR"])
        run = runs.new_run("image_classify", {{}}, name=job_dir.name)
        run.set_status("complete")
        history = [{{"epoch": e, "phase": 1, "loss": 1 / e, "accuracy": e / 4}} for e in (1, 2, 3)]
        (job_dir / "progress.json").write_text(json.dumps({{"phase": 1, "history": history}}))
        (job_dir / "exit.json").write_text(json.dumps({{"returncode": 0, "run": run.ref}}))
    """
    command = [sys.executable, "-c", textwrap.dedent(body)]
    job = jobs.start_job("image_classify", [], total_epochs=3, label="fake", command=command)
    deadline = time.monotonic() + 60
    while jobs.poll(job).state == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    at = open_page(TRAIN)
    assert jobs.poll(job).state == "complete", jobs.log_tail(job)
    assert "is complete" in " ".join(success.value for success in at.success)
    assert len(at.get("vega_lite_chart")) == 2  # the loss and the accuracy curves
    (link,) = [link for link in at.page_link if link.proto.page == "runs"]
    assert link.proto.query_string.startswith("run=image_classify")
    # The run deleted afterwards: the job no longer claims it, and its link says so.
    (run,) = runs.list_runs("image_classify")
    shutil.rmtree(run.path)
    at = open_page(TRAIN)
    assert "has been deleted" in " ".join(info.value for info in at.info)
    make_run(registry)  # another run, so the page lists something
    at = open_page(RUNS, run=f"image_classify/{run.run_id}")
    assert "is not listed" in " ".join(info.value for info in at.info)


def make_run(registry, app="image_classify", state="complete"):
    run = runs.new_run(app, {"data": "demo", "epochs": 2}, runs_dir=registry, name="shapes")
    run.save_metrics({"accuracy": 0.875, "macro_recall": 0.8, "split": "validation"})
    run.save_history({"head": {"loss": [1.0, 0.5], "accuracy": [0.5, 0.875]}})
    Image.fromarray(np.zeros((20, 20, 3), "uint8")).save(run.artifact("confusion.png"))
    run.artifact("model.keras").write_bytes(b"not really a model")
    run.set_status(state)
    return run


def test_runs_page_without_runs_points_to_the_train_page(registry):
    at = open_page(RUNS)
    assert "No runs yet" in at.info[0].value
    assert [link.proto.page for link in at.page_link] == ["train"]


def test_runs_page_shows_a_run(registry):
    run = make_run(registry)
    at = open_page(RUNS)
    assert not at.error, error_text(at)
    table = at.dataframe[0].value
    assert table["run"].tolist() == [run.run_id] and table["metric"][0] == "accuracy 0.875"
    assert table["name"][0].startswith("Image classification · demo · 20")
    choice = at.selectbox(key="runs_run")
    assert choice.format_func(choice.value) == table["name"][0]
    assert {metric.label for metric in at.metric} >= {"accuracy", "macro_recall"}
    metrics = at.dataframe[1].value  # the metrics that are not numbers, as a table
    assert metrics.to_dict("records") == [{"metric": "split", "value": "validation"}]
    (config,) = [expander for expander in at.expander if expander.label == "Config"]
    assert len(at.json) == len(config.json) == 1  # only the config is JSON, folded away
    assert len(at.get("vega_lite_chart")) == 2  # loss, and accuracy
    assert any("confusion.png" in image.captions[0] for image in at.image)
    assert at.get("download_button"), "no download button for the model"


def tab_container_ids(node):
    """The keys in the ids of the tab sets under ``node`` (an AppTest element tree)."""
    proto = getattr(node, "proto", None)
    ids = []
    if getattr(proto, "DESCRIPTOR", None) and proto.DESCRIPTOR.name == "Block":
        if proto.WhichOneof("type") == "tab_container":
            ids.append(proto.id.split("-", 2)[-1])
    for child in getattr(node, "children", {}).values():
        ids += tab_container_ids(child)
    return ids


def test_runs_page_deletes_only_after_confirmation(registry):
    keep, delete, later = make_run(registry), make_run(registry, app="gan"), make_run(registry)
    at = open_page(RUNS, run=f"gan/{delete.run_id}")
    assert at.selectbox(key="runs_run").value == f"gan/{delete.run_id}"
    at.button(key="runs_delete").click().run()
    assert delete.path.exists() and "cannot be undone" in at.warning[0].value
    at.button(key="runs_delete_no").click().run()
    assert delete.path.exists() and not at.warning
    at.button(key="runs_delete").click().run()
    at.button(key="runs_delete_yes").click().run()
    assert not at.exception, at.exception
    assert not delete.path.exists() and keep.path.exists() and later.path.exists()
    listed = at.dataframe[0].value["run"].tolist()
    assert sorted(listed) == sorted([keep.run_id, later.run_id])
    first = f"image_classify/{listed[0]}"  # the list's first run, not the deleted one's neighbour
    assert at.selectbox(key="runs_run").value == first
    assert not at.warning and at.button(key="runs_delete")
    # The first run's own tabs, so the browser opens them on Overview, not on Delete.
    assert tab_container_ids(at._tree) == [f"runs_tabs_{first}"]


def test_a_running_run_cannot_be_deleted(registry):
    run = runs.new_run("image_classify", {}, runs_dir=registry)  # running, in this process
    at = open_page(RUNS)
    assert "cannot be deleted" in " ".join(caption.value for caption in at.caption)
    assert run.path.exists()
