"""Background jobs (``shared.jobs``): safe zip extraction, start/poll/cancel, progress."""

import io
import json
import os
import signal
import stat
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

from shared import jobs, runs
from shared.jobs import cancel_job, list_jobs, load_job, poll
from shared.processes import start_ticks
from shared.safe_zip import UnsafeZipError, check_members, data_root, extract_zip
from shared.uploads import prune_uploads
from tests.zips import zip_bytes

TIMEOUT_S = 60


def special_member(name, mode, content=b""):
    """A member whose Unix mode (in ``external_attr``) is ``mode``: a link, a pipe..."""
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    return info, content


def mark_encrypted(content):
    """Set the "encrypted" flag of every member (zipfile cannot write encrypted members)."""
    content = bytearray(content)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = content.find(signature)
        while start >= 0:
            content[start + offset] |= 0x1
            start = content.find(signature, start + 4)
    return bytes(content)


ZIP_SLIP_CORPUS = {
    "parent": [("../evil.txt", b"x")],
    "deep parent": [("data/../../evil.txt", b"x")],
    "absolute": [("/tmp/evil.txt", b"x")],
    "drive letter": [("C:/evil.txt", b"x")],
    "backslash parent": [("..\\evil.txt", b"x")],
    "backslash absolute": [("\\evil.txt", b"x")],
    "symlink": [special_member("cats/link", stat.S_IFLNK | 0o777, b"/etc/passwd")],
    "symlink then write through it": [
        special_member("escape", stat.S_IFLNK | 0o777, b".."),
        ("escape/evil.txt", b"x"),
    ],
    "fifo": [special_member("cats/pipe", stat.S_IFIFO | 0o644)],
    "duplicate": [("cats/a.png", b"1"), ("cats/a.png", b"2")],
    "good files then an escape": [("cats/a.png", b"1"), ("dogs/../../evil.txt", b"x")],
}


@pytest.mark.filterwarnings("ignore:Duplicate name")  # zipfile warns writing the duplicate
@pytest.mark.parametrize("case", sorted(ZIP_SLIP_CORPUS))
def test_zip_slip_corpus_is_refused_and_leaves_nothing(tmp_path, case):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "inner" / "dataset"
    try:
        content = zip_bytes(ZIP_SLIP_CORPUS[case])
    except ValueError:  # zipfile itself refuses to write some of these names
        pytest.skip(f"zipfile cannot write the {case!r} member")
    with pytest.raises(UnsafeZipError):
        extract_zip(content, target)
    assert not target.exists()
    assert not (outside / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    assert not list((outside / "inner").iterdir())  # the temporary folder is gone too


def test_encrypted_members_are_refused(tmp_path):
    content = mark_encrypted(zip_bytes([("cats/a.png", b"secret")]))
    with pytest.raises(UnsafeZipError, match="encrypted"):
        extract_zip(content, tmp_path / "a")
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize(
    "members",
    [
        [("cats", b"a file"), ("cats/a.png", b"1")],
        [("cats/a.png", b"1"), ("cats", b"a file")],
        [("cats/" + "x" * 300 + ".png", b"1")],
    ],
    ids=["file then folder", "folder then file", "name too long"],
)
def test_unwritable_layouts_are_refused_before_writing(tmp_path, members):
    with pytest.raises(UnsafeZipError):
        extract_zip(zip_bytes(members), tmp_path / "a")
    assert list(tmp_path.iterdir()) == []


def test_a_compression_method_python_cannot_read_is_refused(tmp_path):
    with zipfile.ZipFile(io.BytesIO(zip_bytes([("cats/a.png", b"1")]))) as archive:
        archive.infolist()[0].compress_type = 9  # Deflate64, as Windows writes large zips
        with pytest.raises(UnsafeZipError, match="compression method 9"):
            check_members(archive)


def test_not_a_zip_and_empty_zip_are_refused(tmp_path):
    with pytest.raises(UnsafeZipError, match="not a valid zip"):
        extract_zip(b"PK\x03\x04 this is not really a zip", tmp_path / "a")
    with pytest.raises(UnsafeZipError, match="no files"):
        extract_zip(zip_bytes([("empty/", b"")]), tmp_path / "b")


def test_size_and_count_limits(tmp_path):
    content = zip_bytes([(f"cats/{index}.png", b"x" * 100) for index in range(10)])
    with pytest.raises(UnsafeZipError, match="members; the limit is 5"):
        extract_zip(content, tmp_path / "a", max_members=5)
    with pytest.raises(UnsafeZipError, match="once extracted"):
        extract_zip(content, tmp_path / "b", max_bytes=500)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_lying_size_header_is_caught_while_extracting(tmp_path):
    content = bytearray(zip_bytes([("cats/a.png", b"y" * 4000)]))
    # Lower the uncompressed size in the central directory: the declared total passes the
    # limit; the bytes written are counted again (zipfile then also fails its CRC check).
    central = content.rfind(b"PK\x01\x02")
    content[central + 24 : central + 28] = (10).to_bytes(4, "little")
    with pytest.raises(UnsafeZipError):
        extract_zip(bytes(content), tmp_path / "a", max_bytes=1000)
    assert not (tmp_path / "a").exists()


def test_a_good_zip_is_extracted_and_its_wrapper_folder_skipped(tmp_path):
    content = zip_bytes(
        [
            ("flowers/", b""),
            ("flowers/roses/1.png", b"rose"),
            ("flowers/tulips/2.png", b"tulip"),
            ("__MACOSX/flowers/._1.png", b"resource fork"),
        ]
    )
    root = extract_zip(content, tmp_path / "dataset")
    assert root == tmp_path / "dataset" / "flowers"
    assert (root / "roses" / "1.png").read_bytes() == b"rose"
    assert not (tmp_path / "dataset" / "__MACOSX").exists()
    assert data_root(tmp_path / "dataset") == root
    with pytest.raises(ValueError, match="already exists"):
        extract_zip(content, tmp_path / "dataset")


def fake_command(body):
    """``python -c`` running ``body`` with the repository importable."""
    prelude = f"import sys; sys.path.insert(0, {str(jobs.REPO_ROOT)!r})\n"
    return [sys.executable, "-c", prelude + textwrap.dedent(body)]


def wait_until(job, states, timeout=TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = poll(job)
        if status.state in states:
            return status
        time.sleep(0.1)
    raise AssertionError(f"job still {poll(job).state} after {timeout} s")


WRITE_PROGRESS = """
    import json, os, pathlib, time
    job_dir = pathlib.Path(os.environ["TRANSFERZOO_JOB_DIR"])
    history = [{"epoch": 1, "phase": 1, "loss": 0.9, "accuracy": 0.5}]
    progress = {"phase": 1, "epoch": 2, "epochs": 4, "step": 1, "steps": 2, "history": history}
    (job_dir / "progress.json").write_text(json.dumps(progress))
    print("epoch 1 done", flush=True)
    time.sleep(float(os.environ.get("FAKE_SLEEP", "0.5")))
"""


def test_a_job_runs_reports_progress_and_completes(tmp_path):
    job = jobs.start_job(
        "image_classify",
        ["--data", "x"],
        total_epochs=4,
        jobs_dir=tmp_path,
        command=fake_command(textwrap.dedent(WRITE_PROGRESS) + "print('finished')\n"),
    )
    assert job.command[0] == sys.executable and (job.path / "job.json").is_file()
    running = wait_until(job, ("running",))
    status = wait_until(job, jobs.FINISHED)
    assert status.state == "complete" and status.returncode == 0 and status.fraction == 1.0
    assert status.history[0]["loss"] == 0.9
    assert running.fraction <= 0.99
    assert jobs.log_tail(job).splitlines() == ["epoch 1 done", "finished"]
    # A reload (or another server) sees the same job, from disk only.
    reloaded = load_job(job.path)
    assert reloaded == job and list_jobs(tmp_path) == [job]
    jobs._CHILDREN.pop(job.job_id)
    assert poll(reloaded).state == "complete"


def test_progress_fraction_counts_epochs_and_steps(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_SLEEP", "30")
    job = jobs.start_job(
        "image_classify",
        [],
        total_epochs=4,
        jobs_dir=tmp_path,
        command=fake_command(WRITE_PROGRESS),
    )
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not poll(job).history and time.monotonic() < deadline:
            time.sleep(0.1)
        status = poll(job)
        # one epoch done and half of the second: 1.5 of 4 epochs
        assert status.state == "running" and status.fraction == pytest.approx(1.5 / 4)
    finally:
        cancel_job(job, grace_s=1)


def test_a_failing_job_is_failed_with_its_last_log_line(tmp_path):
    job = jobs.start_job(
        "image_classify",
        [],
        jobs_dir=tmp_path,
        command=fake_command("print('error: no such dataset'); sys.exit(2)\n"),
    )
    status = wait_until(job, jobs.FINISHED)
    assert status.state == "failed" and status.returncode == 2
    assert "error: no such dataset" in status.message


def test_cancel_stops_the_process_group_and_marks_the_run(tmp_path, runs_dir):
    # The fake trainer ignores Ctrl-C and starts a child: only SIGKILL of the group stops it.
    body = f"""
        import os, signal, subprocess, time
        from shared import runs
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        job_id = os.path.basename(os.environ["TRANSFERZOO_JOB_DIR"])
        runs.new_run("image_classify", {{}}, runs_dir={str(runs_dir)!r}, name=job_id)
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        print(child.pid, flush=True)
        time.sleep(120)
    """
    job = jobs.start_job(
        "image_classify", [], jobs_dir=tmp_path, runs_dir=runs_dir, command=fake_command(body)
    )
    deadline = time.monotonic() + TIMEOUT_S
    while not jobs.log_tail(job).strip() and time.monotonic() < deadline:
        time.sleep(0.1)
    grandchild = int(jobs.log_tail(job).split()[0])
    status = cancel_job(job, grace_s=1)
    assert status.state == "cancelled"
    assert start_ticks(grandchild) is None  # the whole group is gone
    (run,) = runs.list_runs("image_classify", runs_dir=runs_dir)
    assert run.state == "cancelled" and "Train page" in run.status.get("message", "")


def test_cancel_after_the_job_finished_keeps_it_complete(tmp_path):
    job = jobs.start_job("image_classify", [], jobs_dir=tmp_path, command=fake_command("pass\n"))
    assert wait_until(job, jobs.FINISHED).state == "complete"
    status = cancel_job(job, grace_s=1)  # the click came after the end
    assert status.state == "complete" and not (job.path / "cancel").exists()


def test_the_runs_folder_is_always_given_to_the_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFERZOO_RUNS_DIR", str(tmp_path / "registry"))
    job = jobs.start_job(
        "image_classify",
        ["--data", "x"],
        module="apps.image_classify.finetune",
        jobs_dir=tmp_path / "jobs",
    )
    cancel_job(job, grace_s=1)
    command = list(job.command)
    assert command[1:5] == ["-m", "apps.image_classify.finetune", "--job-dir", str(job.path)]
    assert command[command.index("--runs-dir") + 1] == str(tmp_path / "registry")
    assert job.runs_dir == str(tmp_path / "registry")


def test_a_job_refused_by_the_finetune_command_records_its_exit(tmp_path, runs_dir, capsys):
    from apps.image_classify import finetune

    argv = ["--job-dir", str(tmp_path), "--time-budget-s", "5", "--runs-dir", str(runs_dir)]
    assert finetune.main(argv) == 2
    assert "--data is required" in capsys.readouterr().err
    exit_info = json.loads((tmp_path / "exit.json").read_text())
    assert exit_info["returncode"] == 2 and exit_info["run"] is None


def test_old_uploads_are_pruned_but_not_one_a_running_job_reads(tmp_path, monkeypatch):
    monkeypatch.setenv(jobs.JOBS_DIR_ENV, str(tmp_path / "jobs"))
    uploads = tmp_path / "jobs" / "uploads"
    folders = []
    for age in range(6):
        folder = uploads / f"upload{age}"
        (folder / "cats").mkdir(parents=True)
        os.utime(folder, (time.time() - 100 * age, time.time() - 100 * age))
        folders.append(folder)
    reading = fake_command("import time; time.sleep(60)\n") + [str(folders[5] / "cats")]
    job = jobs.start_job("image_classify", [], command=reading)
    try:
        deleted = prune_uploads(uploads, keep=2)
    finally:
        cancel_job(job, grace_s=1)
    assert sorted(deleted) == folders[2:5]
    assert [folder.exists() for folder in folders] == [True, True, False, False, False, True]


@pytest.mark.parametrize("server_ignores_ctrl_c", [False, True])
def test_cancel_with_ctrl_c_lets_the_job_exit_itself(tmp_path, server_ignores_ctrl_c):
    # A server started with `nohup ... &` ignores SIGINT, and its children inherit that.
    inherited = signal.SIG_IGN if server_ignores_ctrl_c else signal.default_int_handler
    body = """
        import time
        try:
            print("training", flush=True)
            time.sleep(120)
        except KeyboardInterrupt:
            print("cancelled cleanly", flush=True)
            sys.exit(130)
    """
    previous = signal.signal(signal.SIGINT, inherited)
    try:
        job = jobs.start_job("image_classify", [], jobs_dir=tmp_path, command=fake_command(body))
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + TIMEOUT_S
    while "training" not in jobs.log_tail(job) and time.monotonic() < deadline:
        time.sleep(0.1)
    status = cancel_job(job, grace_s=20)
    assert status.state == "cancelled" and status.returncode == 130
    assert "cancelled cleanly" in jobs.log_tail(job)


def test_progress_callback_writes_epochs_and_stops_at_the_time_budget(tmp_path):
    import keras

    from shared.progress import ProgressCallback

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    path = tmp_path / "progress.json"
    callback = ProgressCallback(path)
    model.fit(x, y, epochs=3, batch_size=4, verbose=0, callbacks=[callback])
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[callback])  # a second phase
    progress = json.loads(path.read_text())
    assert [row["epoch"] for row in progress["history"]] == [1, 2, 3, 4, 5]
    assert [row["phase"] for row in progress["history"]] == [1, 1, 1, 2, 2]
    assert progress["steps"] == 2 and np.isfinite(progress["history"][-1]["loss"])

    now = [0.0]
    budgeted = ProgressCallback(tmp_path / "budget.json", time_budget_s=10, clock=lambda: now[0])

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            now[0] += 4.0  # each batch "takes" four seconds

    model.fit(x, y, epochs=50, batch_size=4, verbose=0, callbacks=[Clock(), budgeted])
    stopped = json.loads((tmp_path / "budget.json").read_text())
    assert stopped["stopped_for_time"] and len(stopped["history"]) == 2


def test_a_real_tiny_finetune_job_lands_in_the_registry(tmp_path, runs_dir, tiny_classifier_preset):
    from apps.image_classify import SPEC as IMAGE_CLASSIFY
    from apps.image_classify.data import synthetic_shapes, write_image_folder
    from shared.ui.training_setup import finetune_args

    folder = write_image_folder(synthetic_shapes(num_per_class=4, image_size=32), tmp_path / "d")
    args, total = finetune_args(IMAGE_CLASSIFY, folder, mode="feature_extract", epochs=2)
    args += ["--model", str(tiny_classifier_preset), "--image-size", "32", "--batch-size", "4"]
    job = jobs.start_job(
        "image_classify",
        args,
        module=IMAGE_CLASSIFY.finetune_module,
        total_epochs=total,
        jobs_dir=tmp_path / "jobs",
        runs_dir=runs_dir,
    )
    status = wait_until(job, jobs.FINISHED, timeout=300)
    assert status.state == "complete", jobs.log_tail(job)
    assert [row["epoch"] for row in status.history] == [1, 2]
    run = runs.open_run(status.run_ref, runs_dir=runs_dir)
    assert run.state == "complete" and run.status["name"] == job.job_id
    assert json.loads((job.path / "exit.json").read_text())["run"] == run.ref
    assert os.path.isdir(run.model_path)


def test_the_log_shows_what_a_terminal_would_not_its_control_characters(tmp_path):
    log = (
        "Epoch 1/2\n"
        "\r 1/4 \x1b[32m━━\x1b[0m loss: 0.9\r 4/4 \x1b[1m━━━━\x1b[0m loss: 0.5\r\n"  # redraws
        "\x1b]0;title\x07\x1b[?25lsaving\x1b[?25h\n"  # a terminal title, cursor on/off
        "50%|#####     |\x1b[A\r100%|##########|\n"  # tqdm
        "done\x08\x08\x08\x08finished\x00\x07\n"
    )
    job = jobs.Job(tmp_path, "job", "image_classify", (), 0, None, "now")
    job.log_path.write_text(log)
    assert jobs.log_tail(job).splitlines() == [
        "Epoch 1/2",
        " 4/4 ━━━━ loss: 0.5",
        "saving",
        "100%|##########|",
        "finished",
    ]
