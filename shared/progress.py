"""What the training process of a Train-page job writes into its job folder.

``ProgressCallback`` writes ``progress.json`` (phase, epoch, step, per-epoch logs) and stops
training gracefully once the time budget is spent: the run still completes, with what it
learnt so far. It writes the file once as it is created too, when the process has started
and begins preparing, and notes when training began: ``preparation`` reads these records
(and the run's creation) as the steps before the first epoch. ``write_exit`` records the
exit status and the run in ``exit.json`` when the process ends. The ``finetune`` command of
every app uses them when given ``--job-dir`` (``shared.finetune_cli``).
"""

import math
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import keras

from shared.atomic_io import atomic_write_json

WRITE_INTERVAL_S = 1.0
# What a job does before its first epoch, in order: the process imports TensorFlow (no
# progress.json yet), loads the data and builds the model (progress.json written, no run
# yet: ``prepare`` creates none), then prepares the training batches (the run exists: e.g.
# the backbone's features computed once for the head phase).
PREPARATION_STEPS = (
    "starting Python and TensorFlow",
    "loading the data and building the model",
    "preparing the training data (caching features)",
)
STEP_CREEP_S = 10.0  # without an earlier job to go by, a step's bar fills 63% in this time
KERAS_BATCH = re.compile(r"^\s*(\d+)/(\d+|Unknown)\b")  # "      2/Unknown 5s 2s/batch"


def _number(value):
    """A JSON-safe float, or None for values that are not finite numbers."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class ProgressCallback(keras.callbacks.Callback):
    """Writes training progress to a JSON file; stops training at a wall-time budget.

    One callback serves every ``fit()`` of a run (each training phase): ``history`` gathers
    the epoch logs of all phases, numbered on.

    Args:
        path: the JSON file to (re)write, atomically.
        time_budget_s: stop after this many seconds from the callback's creation.
        clock: ``time.monotonic`` (a fake one in tests).
    """

    def __init__(self, path, *, time_budget_s=None, clock=time.monotonic):
        super().__init__()
        self.path, self.time_budget_s, self.clock = Path(path), time_budget_s, clock
        self.started = clock()
        self.last_write = -math.inf
        self.state = {"phase": 0, "epoch": 0, "epochs": None, "step": 0, "steps": None}
        self.state |= {"history": [], "stopped_for_time": False, "preparing_since": _now()}
        self._write(force=True)  # the process is up: the data and the model come next

    def _write(self, force=False):
        now = self.clock()
        if force or now - self.last_write >= WRITE_INTERVAL_S:
            self.last_write = now
            self.state["updated"] = _now()
            atomic_write_json(self.path, self.state)

    def _check_budget(self):
        if self.time_budget_s and self.clock() - self.started >= self.time_budget_s:
            self.state["stopped_for_time"] = True
            self.model.stop_training = True

    def on_train_begin(self, logs=None):
        self.state.setdefault("training_since", _now())
        self.state.update(
            phase=self.state["phase"] + 1,
            epoch=0,
            step=0,
            epochs=self.params.get("epochs"),
            steps=self.params.get("steps"),
        )
        self._check_budget()
        self._write(force=True)

    def on_epoch_begin(self, epoch, logs=None):
        self.state.update(epoch=epoch + 1, step=0)

    def on_train_batch_end(self, batch, logs=None):
        self.state["step"] = batch + 1
        self._check_budget()
        self._write()

    def on_epoch_end(self, epoch, logs=None):
        values = {key: _number(value) for key, value in (logs or {}).items()}
        row = {"epoch": len(self.state["history"]) + 1, "phase": self.state["phase"]}
        self.state["history"].append(row | {k: v for k, v in values.items() if v is not None})
        self._check_budget()
        self._write(force=True)


def write_exit(job_dir, returncode, run_ref):
    """Write ``job_dir/exit.json``: the exit status and the run the job wrote (or None)."""
    atomic_write_json(
        Path(job_dir) / "exit.json",
        {
            "returncode": returncode,
            "run": run_ref,
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    )


def _seconds(start, end):
    """Seconds between two ISO timestamps (None when either is missing or unreadable)."""
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return None


def preparation_seconds(created, progress):
    """How long a job took from its start (``created``) to its first epoch, from its
    ``progress.json`` (None while it has not trained)."""
    return _seconds(created, (progress or {}).get("training_since"))


def preparation(progress, *, created, now, run_created=None, expected_s=None, last_line=""):
    """Where a job is before its first epoch, for the Train page.

    Args:
        progress: its ``progress.json`` ({} before the process wrote it).
        created: when the job started (ISO); ``now``: the time now (ISO).
        run_created: when its run was created (ISO), None while there is none.
        expected_s: how long an earlier job of the app took to prepare, if known.
        last_line: the last line of its log (a Keras batch counter is shown).

    Returns:
        ``{"step", "steps", "text", "fraction"}``: the step (1-based) of
        ``PREPARATION_STEPS``, its words, and a fraction that moves on every refresh: the
        time since the start against ``expected_s``, else the steps done plus a creep
        within the current one.
    """
    progress = progress or {}
    starts = [created, progress.get("preparing_since"), run_created]
    step = 3 if run_created else 2 if progress.get("preparing_since") else 1
    text = PREPARATION_STEPS[step - 1]
    batch = KERAS_BATCH.match(last_line or "")
    if step == 3 and batch:
        total = batch[2]
        text += f", batch {batch[1]}" + ("" if total == "Unknown" else f" of {total}")
    done = (step - 1) / len(PREPARATION_STEPS)
    elapsed = _seconds(created, now) or 0.0
    if expected_s:
        fraction = max(done, elapsed / expected_s)
    else:
        in_step = max(0.0, _seconds(starts[step - 1], now) or 0.0)
        fraction = done + (1 - math.exp(-in_step / STEP_CREEP_S)) / len(PREPARATION_STEPS)
    return {
        "step": step,
        "steps": len(PREPARATION_STEPS),
        "text": text,
        "fraction": min(0.95, fraction),
    }
