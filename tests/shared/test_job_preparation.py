"""What a job shows before its first epoch, its quiet log, and its TensorFlow log level."""

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from shared import jobs
from shared.atomic_io import atomic_write_json
from shared.job_log import TENSORFLOW_LOG_LINE
from shared.progress import PREPARATION_STEPS, ProgressCallback, preparation
from tests.shared.test_jobs import fake_command, wait_until

START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(seconds):
    return (START + timedelta(seconds=seconds)).isoformat()


def test_preparation_names_each_step_and_its_bar_moves():
    created = at(0)
    first = preparation({}, created=created, now=at(2))
    assert (first["step"], first["steps"]) == (1, 3) and first["text"] == PREPARATION_STEPS[0]
    later = preparation({}, created=created, now=at(6))
    assert 0 < first["fraction"] < later["fraction"] < 1 / 3  # moves, within its step
    progress = {"phase": 0, "preparing_since": at(6)}
    loading = preparation(progress, created=created, now=at(8))
    assert loading["step"] == 2 and "loading the data" in loading["text"]
    assert 1 / 3 <= loading["fraction"] < 2 / 3
    caching = preparation(
        progress, created=created, now=at(15), run_created=at(14), last_line="  2/Unknown 5s"
    )
    assert caching["step"] == 3 and caching["text"].endswith("caching features), batch 2")
    assert 2 / 3 <= caching["fraction"] <= 0.95
    counted = preparation(
        progress, created=created, now=at(15), run_created=at(14), last_line="3/8"
    )
    assert counted["text"].endswith("batch 3 of 8")


def test_an_earlier_job_sets_the_pace_of_the_bar():
    progress = {"phase": 0, "preparing_since": at(5)}
    assert preparation(progress, created=at(0), now=at(10), expected_s=20)["fraction"] == 0.5
    assert preparation(progress, created=at(0), now=at(60), expected_s=20)["fraction"] == 0.95


def test_progress_callback_records_when_preparing_and_training_began(tmp_path):
    path = tmp_path / "progress.json"
    callback = ProgressCallback(path)
    written = json.loads(path.read_text())  # at once: the process is up and preparing
    assert written["phase"] == 0 and written["preparing_since"] and "training_since" not in written
    callback.set_params({"epochs": 2, "steps": 3})
    callback.on_train_begin()
    callback.on_train_begin()  # a second phase keeps the first start
    written = json.loads(path.read_text())
    assert written["phase"] == 2
    assert written["training_since"] >= written["preparing_since"]


STEPS_BODY = """
    import os, pathlib, time
    from shared import runs
    from shared.progress import ProgressCallback
    job_dir = pathlib.Path(os.environ["TRANSFERZOO_JOB_DIR"])
    def wait(name):
        while not (job_dir / name).exists():
            time.sleep(0.05)
    wait("go1")
    ProgressCallback(job_dir / "progress.json")
    wait("go2")
    print("      2/Unknown 5s 2s/batch", flush=True)  # the log first: no race in the test
    runs.new_run("image_classify", {{}}, runs_dir={runs_dir!r}, name=job_dir.name)
    wait("go3")
"""


def step_of(job):
    status = jobs.poll(job)
    return status.preparing and status.preparing["step"]


def wait_for_step(job, step):
    for _ in range(600):
        if step_of(job) == step:
            return jobs.poll(job)
        time.sleep(0.1)
    raise AssertionError(f"job never reached preparation step {step}: {jobs.poll(job)}")


def test_a_job_reports_its_preparation_steps_from_its_own_records(tmp_path, runs_dir):
    from shared.ui.job_view import progress_text

    body = STEPS_BODY.format(runs_dir=str(runs_dir))
    job = jobs.start_job(
        "image_classify", [], jobs_dir=tmp_path, runs_dir=runs_dir, command=fake_command(body)
    )
    try:
        status = wait_for_step(job, 1)
        assert "step 1 of 3: starting Python and TensorFlow" in progress_text(job, status)
        (job.path / "go1").touch()
        status = wait_for_step(job, 2)
        text = progress_text(job, status)
        assert "step 2 of 3: loading the data and building the model" in text
        (job.path / "go2").touch()
        status = wait_for_step(job, 3)
        assert "caching features), batch 2" in progress_text(job, status)
        assert 2 / 3 <= status.preparing["fraction"] <= 0.95
    finally:
        (job.path / "go3").touch()
    assert wait_until(job, jobs.FINISHED).preparing is None


def test_the_next_job_of_an_app_is_paced_by_the_last_one(tmp_path):
    first = jobs.start_job("image_classify", [], jobs_dir=tmp_path, command=fake_command("pass"))
    wait_until(first, jobs.FINISHED)
    created = datetime.now(timezone.utc) - timedelta(minutes=10)  # an earlier job
    atomic_write_json(first.path / "job.json", first.to_dict() | {"created": created.isoformat()})
    records = {
        "phase": 1,
        "preparing_since": (created + timedelta(seconds=5)).isoformat(),
        "training_since": (created + timedelta(seconds=400)).isoformat(),
    }
    (first.path / "progress.json").write_text(json.dumps(records))
    sleeping = fake_command("import time; time.sleep(30)")
    second = jobs.start_job("image_classify", [], jobs_dir=tmp_path, command=sleeping)
    try:
        status = jobs.poll(second)
        # 400 s last time: a few seconds in, the bar is at about 1% and creeping on.
        assert status.preparing["step"] == 1 and status.preparing["fraction"] < 0.05
        assert status.preparing["fraction"] == pytest.approx(status.elapsed_s / 400, abs=0.01)
    finally:
        jobs.cancel_job(second, grace_s=1)


TENSORFLOW_NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "E0000 00:00:1796613217.667401    4289 cuda_executor.cc:1228] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "I0000 00:00:1796613217.667 4289 port.cc:153] oneDNN custom operations are on.",
    "2024-05-01 10:00:00.123456: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] "
    "Could not find cuda drivers on your machine, GPU will not be used.",
    "2024-05-01 10:00:00.223456: E external/local_xla/xla/stream_executor/cuda/"
    "cuda_driver.cc:282] failed call to cuInit: UNKNOWN ERROR (303)",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.",
]


def test_the_job_log_leaves_out_tensorflow_and_cuda_log_lines(tmp_path):
    job = jobs.start_job("image_classify", [], jobs_dir=tmp_path, command=fake_command("pass"))
    wait_until(job, jobs.FINISHED)
    lines = ["INFO run run:x started", *TENSORFLOW_NOISE, "Epoch 1/3", "2/2 - 1s - loss: 0.9"]
    job.log_path.write_text("\n".join(lines) + "\n")
    assert jobs.log_tail(job).splitlines() == [
        "INFO run run:x started",
        "Epoch 1/3",
        "2/2 - 1s - loss: 0.9",
    ]
    assert jobs.log_tail(job, lines=1) == "2/2 - 1s - loss: 0.9"


@pytest.mark.parametrize("chosen", [None, "1"])
def test_jobs_inherit_the_quiet_tensorflow_log_level(tmp_path, monkeypatch, chosen):
    if chosen is None:
        monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", chosen)
    show = "import os; print('level', os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"
    job = jobs.start_job("image_classify", [], jobs_dir=tmp_path, command=fake_command(show))
    wait_until(job, jobs.FINISHED)
    assert jobs.log_tail(job) == f"level {chosen or '3'}"


def test_a_training_job_log_has_no_tensorflow_log_lines(tmp_path, runs_dir):
    # The worker is `python -m apps.<app>.finetune`: the package `apps` imports TensorFlow
    # quietly, as for the command lines, with the log level the job inherits.
    job = jobs.start_job(
        "image_classify", ["--help"], jobs_dir=tmp_path, module="apps.image_classify.finetune"
    )
    assert wait_until(job, jobs.FINISHED, timeout=120).state == "complete"
    raw = job.log_path.read_text()
    assert "usage: python -m apps.image_classify.finetune" in raw
    noise = [line for line in raw.splitlines() if TENSORFLOW_LOG_LINE.match(line)]
    assert not noise, noise
