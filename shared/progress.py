"""The training process of a UI job: an app's finetune CLI plus a progress file.

``python -m shared.progress --job-dir DIR --app APP [--time-budget-s S] -- FINETUNE ARGS``
runs ``apps.<APP>.finetune.main(FINETUNE ARGS)`` unchanged, except that its
``run_finetune`` receives one more Keras callback, ``ProgressCallback``, which writes
``DIR/progress.json`` (phase, epoch, step, per-epoch logs) and stops training gracefully
once the time budget is spent: the run still completes, with what it learnt so far. When
the process ends, ``DIR/exit.json`` records its exit status and the run it wrote.
Ctrl-C (SIGINT) and SIGTERM cancel: the app's finetune then marks its run "cancelled".
"""

import argparse
import importlib
import inspect
import math
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import keras

from shared.atomic_io import atomic_write_json

WRITE_INTERVAL_S = 1.0
CANCELLED_STATUS = 130  # the shell's status for a process stopped by Ctrl-C


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


def with_progress(run_finetune, callback, result):
    """``run_finetune`` with ``callback`` added to its callbacks; the run lands in ``result``."""
    parameters = inspect.signature(run_finetune).parameters

    def run_with_progress(config, *, run=None, callbacks=(), **options):
        if "verbose" in parameters:
            options.setdefault("verbose", 2)  # one log line per epoch: a readable log file
        trained = run_finetune(config, run=run, callbacks=[callback, *callbacks], **options)
        result["run"] = getattr(trained, "ref", None)
        return trained

    return run_with_progress if "callbacks" in parameters else run_finetune


def _cancel_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m shared.progress")
    parser.add_argument("--job-dir", required=True, help="the job folder (progress, exit)")
    parser.add_argument("--app", required=True, help="the app whose finetune runs")
    parser.add_argument("--time-budget-s", type=float, default=None, help="training time")
    parser.add_argument("finetune_args", nargs=argparse.REMAINDER, help="-- then its flags")
    args = parser.parse_args(argv)
    finetune_args = args.finetune_args
    if finetune_args[:1] == ["--"]:
        finetune_args = finetune_args[1:]
    return args, finetune_args


def main(argv=None):
    """Run the app's finetune with progress reporting; returns its exit status."""
    args, finetune_args = _parse(argv)
    job_dir = Path(args.job_dir)
    signal.signal(signal.SIGTERM, _cancel_on_sigterm)
    result, code = {"run": None}, 1
    try:
        module = importlib.import_module(f"apps.{args.app}.finetune")
        callback = ProgressCallback(job_dir / "progress.json", time_budget_s=args.time_budget_s)
        module.run_finetune = with_progress(module.run_finetune, callback, result)
        code = module.main(finetune_args)
    except KeyboardInterrupt:
        print("cancelled", flush=True)
        code = CANCELLED_STATUS
    except SystemExit as exit_request:
        code = exit_request.code if isinstance(exit_request.code, int) else 1
    finally:
        atomic_write_json(
            job_dir / "exit.json",
            {
                "returncode": code,
                "run": result["run"],
                "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            },
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
