"""What the training process of a Train-page job writes into its job folder.

``ProgressCallback`` writes ``progress.json`` (phase, epoch, step, per-epoch logs) and stops
training gracefully once the time budget is spent: the run still completes, with what it
learnt so far. ``write_exit`` records the exit status and the run in ``exit.json`` when the
process ends. The ``finetune`` command of every app uses them when given ``--job-dir``
(``shared.finetune_cli``).
"""

import math
import time
from datetime import datetime, timezone
from pathlib import Path

import keras

from shared.atomic_io import atomic_write_json

WRITE_INTERVAL_S = 1.0


def _number(value):
    """A JSON-safe float, or None for values that are not finite numbers."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


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
        self.state |= {"history": [], "stopped_for_time": False}

    def _write(self, force=False):
        now = self.clock()
        if force or now - self.last_write >= WRITE_INTERVAL_S:
            self.last_write = now
            self.state["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            atomic_write_json(self.path, self.state)

    def _check_budget(self):
        if self.time_budget_s and self.clock() - self.started >= self.time_budget_s:
            self.state["stopped_for_time"] = True
            self.model.stop_training = True

    def on_train_begin(self, logs=None):
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
