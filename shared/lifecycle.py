"""The life of a training run, the same in every app: checked inputs, a run, its status.

An app's training module (``apps/<app>/train.py``) has two functions:

- ``prepare(config)``: read the data and load or build the starting model. Bad input raises
  ``ValueError`` or ``OSError`` here, before a run exists, so it leaves nothing behind in
  the runs registry.
- ``train(prepared, config, plan, run, *, callbacks=(), verbose=1)``: train into ``run``
  (checkpoints, logs, the model and its figures) and return the run's metrics. It may add
  fields to the run's status with ``run.set_status("running", field=value)``; they stay
  once the run is complete.

``run_training`` calls them in order, for the ``finetune`` command and the Train page's
background jobs alike.
"""

import contextlib
import logging
import shutil
import tempfile
from pathlib import Path

from shared import devices, parallel, runs
from shared.config_values import config_to_dict
from shared.training import TrainingPlan, set_seed

logger = logging.getLogger(__name__)


def run_training(app, config, trainer, *, run=None, callbacks=(), verbose=1):
    """Train per ``config`` with ``trainer`` into a new (or the given, resumed) run.

    The steps: check the config, seed every random generator, pick the devices,
    ``trainer.prepare(config)``, then (with a run) mark it running,
    ``trainer.train(...)`` with a ``TrainingPlan`` of the config, save the metrics and
    mark it complete.
    Ctrl-C marks the run "cancelled", any error "failed" (see ``recording_failures``).

    Args:
        app: the app name: the runs-registry folder of a new run.
        config: the app's ``FinetuneConfig`` (``validate()``, ``seed``, ``runs_dir``,
            ``name``, and the ``TrainingPlan`` fields it has).
        trainer: the app's training module (``prepare`` and ``train``, see above).
        run: a run to resume instead of creating one (its config is ``config``).
        callbacks: extra Keras callbacks for every ``fit()`` (e.g. progress reporting).
        verbose: Keras' progress output: 0 silent, 1 progress bars, 2 a line per epoch.

    Returns:
        The complete ``shared.runs.Run``.
    """
    config.validate()
    set_seed(config.seed)  # before any weight is created: reproducible heads and scratch runs
    setup = devices.configure()
    prepared = trainer.prepare(config)
    with _worker_folder(run) as (scratch, run):
        return _train(app, config, trainer, setup, prepared, run, scratch, callbacks, verbose)


def _train(app, config, trainer, setup, prepared, run, runs_dir, callbacks, verbose):
    run = run or runs.new_run(
        app, config_to_dict(config), runs_dir=runs_dir or config.runs_dir, name=config.name
    )
    device = "; ".join(filter(None, [setup.describe(), parallel.describe()]))
    run.set_status("running", device=device)
    if runs_dir is None:
        logger.info("run %s started in %s (resume with --resume %s)", run.ref, run.path, run.ref)
    else:
        logger.info("process %d started; process 0 writes the run", parallel.process_index())
    with recording_failures(run):
        plan = TrainingPlan.from_config(config, jit_compile=setup.jit_compile)
        metrics = trainer.train(prepared, config, plan, run, callbacks=callbacks, verbose=verbose)
        run.save_metrics(metrics)
    run.set_status("complete")
    return run


@contextlib.contextmanager
def _worker_folder(run):
    """``(scratch runs folder, run)``: ``(None, run)`` on process 0 (or alone); on the other
    processes of a data-parallel job, a scratch folder removed after (with a copy of the
    resumed ``run`` in it): only process 0 writes the run."""
    if parallel.process_index() == 0:
        yield None, run
        return
    scratch = Path(tempfile.mkdtemp(prefix=f"transferzoo-process{parallel.process_index()}-"))
    try:
        if run is not None:
            copy = scratch / run.app / run.run_id
            shutil.copytree(run.path, copy)
            run = runs.Run(path=copy, app=run.app, run_id=run.run_id)
        yield scratch, run
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _record(run, state, message):
    """Mark ``run`` ``state``; a run folder deleted or unwritable is left as it is (the error
    that ended the run, reported next, says why)."""
    try:
        run.set_status(state, message=message)
    except OSError as error:
        logger.debug("run %s not marked %s: %s", run.ref, state, error)


@contextlib.contextmanager
def recording_failures(run):
    """Mark ``run`` "cancelled" on Ctrl-C and "failed" (with the message) on any error.

    A run only becomes "complete" through an explicit ``set_status("complete")`` after
    this block, so a killed or crashed run is never listed as complete.
    """
    try:
        yield run
    except KeyboardInterrupt:
        _record(run, "cancelled", "interrupted by the user")
        raise
    except BaseException as error:
        _record(run, "failed", f"{type(error).__name__}: {error}")
        raise
