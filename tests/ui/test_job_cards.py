"""The Train page's job cards through ``AppTest``: preparation steps, a run deleted since."""

import shutil
import time

import pytest

from shared import jobs, runs
from tests.shared.test_jobs import fake_command
from tests.ui import apptest

TRAIN = "app_pages/train.py"
TIMEOUT = 120


@pytest.fixture
def registry(runs_dir, monkeypatch):
    """An empty runs registry (and its jobs folder) for one test."""
    monkeypatch.delenv(jobs.JOBS_DIR_ENV, raising=False)
    return runs_dir


def wait_for(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the fake job did not get there"
        time.sleep(0.1)


def card_texts(at):
    alerts = [*at.info, *at.warning, *at.success, *at.error]
    return " ".join(alert.value for alert in alerts)


def progress_texts(at):
    return [bar.proto.text for bar in at.get("progress")]


def test_a_preparing_job_says_which_step_it_is_in(registry):
    body = """
        import json, os, pathlib, time
        from datetime import datetime, timezone
        job_dir = pathlib.Path(os.environ["TRANSFERZOO_JOB_DIR"])
        since = datetime.now(timezone.utc).isoformat()
        (job_dir / "progress.json").write_text(json.dumps({"phase": 0, "preparing_since": since}))
        time.sleep(60)
    """
    job = jobs.start_job("image_classify", [], label="fake", command=fake_command(body))
    try:
        wait_for(lambda: jobs.poll(job).progress)
        at = apptest.open_page(TRAIN, timeout=TIMEOUT)
        (text,) = progress_texts(at)
        assert "Preparing, step 2 of 3: loading the data and building the model" in text
        assert at.get("progress")[0].proto.value > 33  # the first step is done
    finally:
        jobs.cancel_job(job, grace_s=1)


def test_a_cancelled_job_whose_run_was_deleted_says_deleted(registry):
    body = """
        import os, pathlib, time
        from shared import runs
        job_dir = pathlib.Path(os.environ["TRANSFERZOO_JOB_DIR"])
        runs.new_run("image_classify", {}, name=job_dir.name).set_status("running")
        print("training", flush=True)
        time.sleep(60)
    """
    job = jobs.start_job("image_classify", [], label="fake", command=fake_command(body))
    wait_for(lambda: jobs.log_tail(job))
    assert jobs.cancel_job(job, grace_s=1).state == "cancelled"
    at = apptest.open_page(TRAIN, timeout=TIMEOUT)
    assert "is marked cancelled" in card_texts(at)
    (run,) = runs.list_runs("image_classify")
    shutil.rmtree(run.path)  # deleted on the Runs page
    at = apptest.open_page(TRAIN, timeout=TIMEOUT)
    assert f"Cancelled; its run `{run.ref}` has been deleted." in card_texts(at)
    assert "marked cancelled" not in card_texts(at)


def test_a_one_epoch_job_shows_its_values_as_numbers_not_one_point_curves(registry):
    body = """
        import json, os, pathlib
        job_dir = pathlib.Path(os.environ["TRANSFERZOO_JOB_DIR"])
        history = [{"epoch": 1, "phase": 1, "loss": 0.9345, "val_loss": 0.7219, "accuracy": 0.5}]
        (job_dir / "progress.json").write_text(json.dumps({"phase": 1, "history": history}))
    """
    job = jobs.start_job("image_classify", [], label="fake", command=fake_command(body))
    wait_for(lambda: jobs.poll(job).state in jobs.FINISHED)
    at = apptest.open_page(TRAIN, timeout=TIMEOUT)
    assert not at.get("vega_lite_chart")
    values = {metric.label: metric.value for metric in at.metric}
    assert values == {
        "loss (epoch 1)": "0.9345",
        "val_loss (epoch 1)": "0.7219",
        "accuracy (epoch 1)": "0.5",
    }
