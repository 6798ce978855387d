"""The runs registry: every fine-tune writes `runs/<app>/<run_id>/`.

Files are written atomically (temp file, then rename), and a run becomes "complete"
only through `set_status("complete")`, which the trainer calls last: a killed run is
never listed as complete.
"""

import dataclasses
import errno
import json
import os
import re
import secrets
import shutil
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from shared.atomic_io import atomic_write_json, read_json

RUNS_DIR_ENV = "TRANSFERZOO_RUNS_DIR"
RUN_REF_PREFIX = "run:"
STATES = ("running", "complete", "failed", "cancelled")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def runs_root(runs_dir: str | Path | None = None) -> Path:
    """Returns `runs_dir`, else $TRANSFERZOO_RUNS_DIR, else `./runs` (absolute)."""
    if runs_dir is None:
        runs_dir = os.environ.get(RUNS_DIR_ENV) or Path.cwd() / "runs"
    return Path(runs_dir).expanduser().absolute()


def _utc_now() -> str:
    """Returns the current time as sortable ISO-8601 UTC, with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _process_alive(status: dict) -> bool:
    """Returns False only when the status' process is known to be gone."""
    if status.get("hostname") != socket.gethostname():
        return True  # Another machine's process: we cannot tell.
    pid = status.get("pid")
    if type(pid) is not int or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # It exists but belongs to another user.
    return True


def _check_name(kind: str, value: Any) -> str:
    """Returns `value` when it is a safe directory name, else raises ValueError."""
    if not isinstance(value, str) or not SAFE_NAME.fullmatch(value):
        raise ValueError(f"{kind} must match {SAFE_NAME.pattern}, got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class Run:
    """One run directory, `runs/<app>/<run_id>/`, and its files.

    `config`, `metrics`, `history` and `labels` read their JSON files; they are
    empty while the file is absent (a run still in progress).
    """

    path: Path
    app: str
    run_id: str

    @property
    def ref(self) -> str:
        """The model reference of this run, `run:<run_id>`."""
        return f"{RUN_REF_PREFIX}{self.run_id}"

    @property
    def model_path(self) -> Path:
        """Where the trained model is saved: a ``model/`` preset directory when the app
        writes one (keras-hub tasks), else ``model.keras``."""
        preset_dir = self.path / "model"
        return preset_dir if preset_dir.is_dir() else self.path / "model.keras"

    def artifact(self, name: str) -> Path:
        """Returns the path of a file named `name` inside the run directory."""
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ValueError(f"artifact name must stay inside the run, got {name!r}")
        return self.path / name

    def save_config(self, config: dict) -> None:
        """Writes the resolved config to config.json."""
        atomic_write_json(self.path / "config.json", dict(config))

    def save_metrics(self, metrics: dict) -> None:
        """Writes the final metrics to metrics.json."""
        atomic_write_json(self.path / "metrics.json", dict(metrics))

    def save_history(self, history: dict) -> None:
        """Writes the per-epoch history to history.json: ``{metric: [values]}``, or
        ``{phase: {metric: [values]}}`` for multi-phase training."""
        lists = {
            name: (
                {key: list(series) for key, series in values.items()}
                if isinstance(values, dict)
                else list(values)
            )
            for name, values in history.items()
        }
        atomic_write_json(self.path / "history.json", lists)

    def save_labels(self, labels: list[str]) -> None:
        """Writes the class labels (or vocabulary) to labels.json."""
        labels = list(labels)
        if not all(isinstance(label, str) for label in labels):
            raise ValueError(f"labels must be strings, got {labels!r}")
        atomic_write_json(self.path / "labels.json", labels)

    @property
    def config(self) -> dict:
        return read_json(self.path / "config.json", default={})

    @property
    def metrics(self) -> dict:
        return read_json(self.path / "metrics.json", default={})

    @property
    def history(self) -> dict:
        return read_json(self.path / "history.json", default={})

    @property
    def labels(self) -> list[str]:
        return read_json(self.path / "labels.json", default=[])

    def _stored_status(self) -> dict | None:
        """Returns status.json as a dict, or None when it is missing or corrupt."""
        try:
            stored = read_json(self.path / "status.json")
        except ValueError:
            return None
        if not isinstance(stored, dict) or stored.get("state") not in STATES:
            return None
        return stored

    def set_status(self, state: str, **extra: Any) -> None:
        """Writes status.json with `state` and `extra` keys (`message=` on failure).

        While running, the status records this process' pid and hostname so that
        a dead trainer shows as "interrupted"; a `message` lasts one call only.
        """
        if state not in STATES:
            raise ValueError(f"run state must be one of {STATES}, got {state!r}")
        if not self.path.is_dir():  # deleted while training: do not bring back an empty run
            raise FileNotFoundError(f"run {self.app}/{self.run_id} was deleted ({self.path})")
        if state == "complete" and not (self.path / "config.json").is_file():
            raise FileNotFoundError(f"run {self.ref} lost its files in {self.path}: not complete")
        previous = self._stored_status() or {}
        dropped = ("pid", "hostname", "message")
        status = {key: value for key, value in previous.items() if key not in dropped}
        if state == "running":
            status.update(pid=os.getpid(), hostname=socket.gethostname())
        status.update(extra)
        now = _utc_now()
        status.update(state=state, created=previous.get("created", now), updated=now)
        try:
            atomic_write_json(self.path / "status.json", status)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            # A full disk has no room for a second copy, but the old status' own block
            # takes a failure note: better than a run left "running" forever.
            (self.path / "status.json").write_text(json.dumps(status, indent=2) + "\n")

    @property
    def status(self) -> dict:
        """The stored status, with state "interrupted" for a running run whose
        process is gone and "broken" when status.json is missing or corrupt."""
        stored = self._stored_status()
        if stored is None:
            return {"state": "broken", "message": "status.json missing or corrupt"}
        if stored["state"] == "running" and not _process_alive(stored):
            return {**stored, "state": "interrupted"}
        return stored

    @property
    def state(self) -> str:
        """The state from `status`."""
        return self.status["state"]


def new_run(
    app: str,
    config: dict,
    *,
    runs_dir: str | Path | None = None,
    run_id: str | None = None,
    name: str | None = None,
) -> Run:
    """Creates `runs/<app>/<run_id>/`, marks it "running" and saves `config`.

    Args:
        app: the app's name, e.g. "image_classify".
        config: the resolved config as a JSON-safe dict.
        runs_dir: the registry root; see `runs_root`.
        run_id: defaults to `YYYYmmdd-HHMMSS-<6 hex>` (UTC, sortable, unique).
        name: an optional human-readable label, stored in status.json.
    """
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {config!r}")
    if run_id is None:
        run_id = f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    path = runs_root(runs_dir) / _check_name("app", app) / _check_name("run_id", run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir()
    except FileExistsError:
        raise ValueError(f"run {app}/{run_id} already exists at {path}") from None
    run = Run(path=path, app=app, run_id=run_id)
    run.set_status("running", **({} if name is None else {"name": name}))
    run.save_config(config)
    return run


def _app_directories(root: Path, app: str | None) -> list[Path]:
    """Returns the app directories to search: the one named, or all of them."""
    if app is not None:
        return [root / _check_name("app", app)]
    children = sorted(root.iterdir()) if root.is_dir() else []
    return [child for child in children if SAFE_NAME.fullmatch(child.name)]


def list_runs(
    app: str | None = None,
    *,
    runs_dir: str | Path | None = None,
    include_incomplete: bool = True,
) -> list[Run]:
    """Returns the runs of one app (or of all apps), newest first.

    Runs sort by their status' creation time (broken runs last), then by run id.
    With `include_incomplete=False`, only the runs whose state is "complete".
    """
    runs = []
    for app_directory in _app_directories(runs_root(runs_dir), app):
        children = app_directory.iterdir() if app_directory.is_dir() else []
        for child in children:
            if child.is_dir() and SAFE_NAME.fullmatch(child.name):
                runs.append(Run(path=child, app=app_directory.name, run_id=child.name))
    statuses = {run: run.status for run in runs}
    if not include_incomplete:
        runs = [run for run in runs if statuses[run]["state"] == "complete"]
    return sorted(
        runs,
        key=lambda run: (str(statuses[run].get("created", "")), run.run_id),
        reverse=True,
    )


def open_run(ref_or_id: str, *, runs_dir: str | Path | None = None, app: str | None = None) -> Run:
    """Opens a run from "run:<id>", "<id>" or "<app>/<id>".

    Raises:
        ValueError: when no run, or runs of several apps, have this id; the
            message lists a few recent runs.
    """
    run_id = str(ref_or_id).removeprefix(RUN_REF_PREFIX)
    if "/" in run_id:
        ref_app, run_id = run_id.split("/", 1)
        if app is not None and app != ref_app:
            raise ValueError(f"run {ref_or_id!r} is not in app {app!r}")
        app = ref_app
    _check_name("run_id", run_id)
    root = runs_root(runs_dir)
    matches = [path / run_id for path in _app_directories(root, app)]
    matches = [path for path in matches if path.is_dir()]
    if len(matches) == 1:
        return Run(path=matches[0], app=matches[0].parent.name, run_id=run_id)
    if len(matches) > 1:
        apps = [path.parent.name for path in matches]
        raise ValueError(f"run {run_id!r} is in apps {apps}; use <app>/{run_id}")
    recent = [f"{run.app}/{run.run_id}" for run in list_runs(app, runs_dir=root)[:5]]
    raise ValueError(f"no run {ref_or_id!r} in {str(root)!r}; recent runs: {recent}")


def delete_run(run: Run, *, runs_dir: str | Path | None = None) -> None:
    """Deletes a run directory; refuses any path but `<runs root>/<app>/<run_id>`."""
    root = runs_root(runs_dir).resolve()
    path = Path(run.path).resolve()
    if path.parent.parent != root:
        raise ValueError(f"refusing to delete {path}: not a run inside {root}")
    shutil.rmtree(path)
