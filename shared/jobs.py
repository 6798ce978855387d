"""Background fine-tune jobs for the UI: start, poll, cancel.

A job is a folder ``<jobs root>/<job_id>/`` (by default ``<runs root>/.jobs``, which the runs
registry never lists) holding ``job.json`` (what was started), ``train.log`` (the process'
output), ``progress.json`` (written every second and every epoch, see ``shared.progress``),
``exit.json`` (the exit status) and ``cancel`` (once cancel was asked: when, and its run).
Everything is on disk, so a page reload, another browser tab or a restarted server sees the
same jobs.
The training process is the app's own ``python -m apps.<app>.finetune`` command with
``--job-dir`` (``shared.finetune_cli``), in its own session (process group): it outlives
the page that started it, and cancelling stops the whole group.
"""

import dataclasses
import os
import secrets
import signal
import sys
from datetime import datetime, timezone
from pathlib import Path

from shared.atomic_io import atomic_write_json, read_json
from shared.job_log import read_log_tail
from shared.processes import is_running, spawn_detached, start_ticks, stop_group
from shared.progress import preparation, preparation_seconds
from shared.quiet import LEVEL_VARIABLE
from shared.runs import list_runs, runs_root

JOBS_DIR_ENV = "TRANSFERZOO_JOBS_DIR"
REPO_ROOT = Path(__file__).resolve().parent.parent
FINISHED = ("complete", "failed", "cancelled")
CANCEL_GRACE_S = 8.0
_CHILDREN = {}  # job_id -> Popen of the jobs this process started (for their exit status)


def jobs_root(jobs_dir=None):
    """``jobs_dir``, else ``$TRANSFERZOO_JOBS_DIR``, else ``<runs root>/.jobs`` (absolute)."""
    jobs_dir = jobs_dir or os.environ.get(JOBS_DIR_ENV) or runs_root() / ".jobs"
    return Path(jobs_dir).expanduser().absolute()


@dataclasses.dataclass(frozen=True)
class Job:
    """One background job: its folder and what was started (``job.json``)."""

    path: Path
    job_id: str
    app: str
    command: tuple
    pid: int
    start_ticks: int | None
    created: str
    total_epochs: int = 1
    time_budget_s: float | None = None
    runs_dir: str | None = None
    label: str = ""

    @property
    def log_path(self):
        return self.path / "train.log"

    def to_dict(self):
        values = dataclasses.asdict(self)
        return values | {"path": str(self.path), "command": list(self.command)}


@dataclasses.dataclass
class JobStatus:
    """What ``poll`` sees: the state, how far along, the per-epoch logs and the run."""

    state: str  # "running", "complete", "failed" or "cancelled"
    fraction: float
    elapsed_s: float
    history: list
    message: str = ""
    run_ref: str | None = None
    returncode: int | None = None
    progress: dict = dataclasses.field(default_factory=dict)
    preparing: dict | None = None  # before the first epoch: see shared.progress.preparation


def _now():
    return datetime.now(timezone.utc)


def is_alive(job):
    """True while the job's process runs (reaping it when this process started it); a
    ``/proc`` read, much cheaper than ``poll``."""
    return is_running(job.pid, job.start_ticks, _CHILDREN.get(job.job_id))


def _worker_command(module, path, args, time_budget_s):
    """``python -m MODULE --job-dir PATH ... ARGS``: the app's finetune command, writing its
    progress and exit status into the job folder."""
    budget = ["--time-budget-s", str(time_budget_s)] if time_budget_s else []
    worker = [sys.executable, "-m", module, "--job-dir", str(path)]
    return [*worker, *budget, *args]


def _spawn(command, path):
    """Start ``command`` in its own session (cancel stops all of it), output to train.log."""
    # TensorFlow's log level as the server's (shared.quiet sets it): 3 unless the user chose.
    env = {LEVEL_VARIABLE: "3"} | os.environ
    env |= {"PYTHONUNBUFFERED": "1", "TRANSFERZOO_JOB_DIR": str(path)}
    return spawn_detached(command, path / "train.log", cwd=REPO_ROOT, env=env)


def start_job(app, args, *, total_epochs=1, time_budget_s=None, label="", **options):
    """Start the app's finetune command line with ``ARGS`` as a background job.

    Args:
        app: the app name (e.g. "image_classify"), as its runs are filed.
        args: the finetune CLI arguments (see ``shared.ui.training_setup``); ``--name <job_id>``
            is added when not given, so the job finds its run in the registry.
        total_epochs: epochs expected in all phases, for the progress fraction.
        time_budget_s: stop training after this many seconds (the run still completes).
        label: a short description for the UI.
        options: ``module``: the app's finetune module run with ``python -m`` (its spec's
            ``finetune_module``); ``jobs_dir``; ``runs_dir`` (passed as ``--runs-dir``); and
            ``command``: a whole command line to run instead (tests), with
            ``$TRANSFERZOO_JOB_DIR`` set.

    Returns:
        The ``Job``; its process runs in a new session and survives this one.
    """
    if not options.get("command") and not options.get("module"):
        raise ValueError("a job needs the app's finetune module (or a whole command)")
    job_id = f"{_now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    path = jobs_root(options.get("jobs_dir")) / job_id
    path.mkdir(parents=True)
    # Always explicit: the worker starts in the repository root, which need not be this
    # process' working directory (the default ./runs of the pages).
    runs_dir = runs_root(options.get("runs_dir"))
    args = [*args, *(["--name", job_id] if "--name" not in args else [])]
    if "--runs-dir" not in args:
        args += ["--runs-dir", str(runs_dir)]
    command = options.get("command") or _worker_command(
        options.get("module"), path, args, time_budget_s
    )
    process = _spawn(command, path)
    _CHILDREN[job_id] = process
    job = Job(
        path=path,
        job_id=job_id,
        app=app,
        command=tuple(str(part) for part in command),
        pid=process.pid,
        start_ticks=start_ticks(process.pid),
        created=_now().isoformat(timespec="seconds"),
        total_epochs=max(1, int(total_epochs)),
        time_budget_s=time_budget_s,
        runs_dir=str(runs_dir),
        label=label,
    )
    atomic_write_json(path / "job.json", job.to_dict())
    return job


def load_job(path):
    """The ``Job`` stored in folder ``path``; ``ValueError`` when job.json is unreadable."""
    values = read_json(Path(path) / "job.json")
    if not isinstance(values, dict):
        raise ValueError(f"{path}: no job.json")
    values |= {"path": Path(path), "command": tuple(values.get("command", ()))}
    names = {field.name for field in dataclasses.fields(Job)}
    return Job(**{key: value for key, value in values.items() if key in names})


def list_jobs(jobs_dir=None):
    """Every readable job, newest first (unreadable folders are skipped)."""
    root = jobs_root(jobs_dir)
    jobs = []
    for path in sorted(root.iterdir() if root.is_dir() else [], reverse=True):
        try:
            jobs.append(load_job(path))
        except (ValueError, OSError, TypeError):
            continue
    return jobs


def find_run(job):
    """The run the job's finetune created (found by its name, the job id), or None."""
    try:
        runs = list_runs(job.app, runs_dir=job.runs_dir)
    except (OSError, ValueError):
        return None
    return next((run for run in runs if run.status.get("name") == job.job_id), None)


def _read(path, default):
    try:
        return read_json(path, default=default)
    except ValueError:  # being rewritten, or damaged: show the last known state
        return default


def _elapsed(job, exit_info):
    start = datetime.fromisoformat(job.created)
    finished = exit_info.get("finished")
    end = datetime.fromisoformat(finished) if finished else _now()
    return max(0.0, (end - start).total_seconds())


def _fraction(job, progress, elapsed):
    history = progress.get("history") or []
    steps = progress.get("steps") or 0
    partial = min(1.0, progress.get("step", 0) / steps) if steps else 0.0
    fraction = (len(history) + (partial if progress.get("step") else 0.0)) / job.total_epochs
    if job.time_budget_s:
        fraction = max(fraction, elapsed / job.time_budget_s)
    return min(0.99, fraction)


def _exit_info(job):
    """exit.json, written by the worker, else from the Popen's status when it ended here."""
    info = _read(job.path / "exit.json", {}) or {}
    child = _CHILDREN.get(job.job_id)
    if not info and child is not None and child.poll() is not None:
        info = {"returncode": child.returncode, "finished": _now().isoformat(timespec="seconds")}
        atomic_write_json(job.path / "exit.json", info)
    return info


def _final_state(job, info, run):
    code = info.get("returncode")  # a job that finished is complete, even if cancel came late
    if code == 0 or (code is None and run is not None and run.state == "complete"):
        return "complete", ""
    if (job.path / "cancel").exists():
        return "cancelled", "Cancelled."
    last = log_tail(job, lines=1).strip()
    why = f"exit status {code}" if code is not None else "the process stopped unexpectedly"
    return "failed", f"Training failed ({why}): {last}" if last else f"Training failed ({why})."


def poll(job):
    """The ``JobStatus`` of ``job`` now, from its process and its files."""
    progress = _read(job.path / "progress.json", {}) or {}
    running = is_alive(job)
    info = {} if running else _exit_info(job)
    elapsed = _elapsed(job, info)
    run = find_run(job)
    run_ref = info.get("run") or (run.ref if run is not None else None)
    run_ref = run_ref or (_read(job.path / "cancel", {}) or {}).get("run")
    history = list(progress.get("history") or [])
    if running:
        message = "Stopping at the time budget…" if progress.get("stopped_for_time") else ""
        fraction = _fraction(job, progress, elapsed)
        status = JobStatus("running", fraction, elapsed, history, message, run_ref, None, progress)
        if not progress.get("phase"):
            status.preparing = preparation(
                progress,
                created=job.created,
                now=_now().isoformat(),
                run_created=run.status.get("created") if run is not None else None,
                expected_s=_expected_preparation(job),
                last_line=log_tail(job, lines=1),
            )
        return status
    state, message = _final_state(job, info, run)
    fraction = 1.0 if state == "complete" else _fraction(job, progress, elapsed)
    code = info.get("returncode")
    return JobStatus(state, fraction, elapsed, history, message, run_ref, code, progress)


def _expected_preparation(job):
    """How long the newest earlier job of the same app took to reach its first epoch."""
    for other in list_jobs(job.path.parent):
        if other.app == job.app and other.created < job.created:
            seconds = preparation_seconds(other.created, _read(other.path / "progress.json", {}))
            if seconds:
                return seconds
    return None


def log_tail(job, *, lines=30, max_bytes=64 * 1024):
    """The last ``lines`` lines of the job's log as a terminal shows them, without
    TensorFlow's native log lines (see ``shared.job_log``)."""
    return read_log_tail(job.log_path, lines=lines, max_bytes=max_bytes)


def cancel_job(job, *, grace_s=CANCEL_GRACE_S, message="cancelled from the Train page"):
    """Stop the job: Ctrl-C to its process group, then SIGKILL after ``grace_s`` seconds.

    Ctrl-C lets the finetune mark its run "cancelled" itself; after a SIGKILL the run is
    marked here. Returns the final ``JobStatus``.
    """
    if not is_alive(job):  # it ended before the click reached us: nothing to cancel
        return poll(job)
    asked = {"asked": _now().isoformat(timespec="seconds")}
    atomic_write_json(job.path / "cancel", asked)
    stop_group(job.pid, signal.SIGINT, grace_s, lambda: is_alive(job))
    if is_alive(job):
        stop_group(job.pid, signal.SIGKILL, 5.0, lambda: is_alive(job))
    run = find_run(job)
    if run is not None:  # the job card tells a run deleted later from one never created
        atomic_write_json(job.path / "cancel", asked | {"run": run.ref})
        if run.state in ("running", "interrupted", "broken"):
            run.set_status("cancelled", message=message)
    return poll(job)
