"""The ``finetune`` command every app shares: config parsing, resume, one-line errors.

The Train page runs the same command as a background job, with two more flags:
``--job-dir DIR`` (progress in ``DIR/progress.json``, the exit status and the run in
``DIR/exit.json``, one log line per epoch, SIGTERM cancels like Ctrl-C) and
``--time-budget-s S`` (training stops after S seconds; the run still completes).
"""

import argparse
import logging
import signal
import sys
from pathlib import Path

from shared import parallel, runs
from shared.cli import build_parser, parse_config, report_error
from shared.config_values import config_from_dict
from shared.lifecycle import run_training
from shared.progress import ProgressCallback, write_exit

CANCELLED_STATUS = 130  # the shell's status for a process stopped by Ctrl-C


def finetune_main(config_cls, trainer, *, app, argv=None, input_hint="INPUT"):
    """``python -m apps.<app>.finetune``: defaults < --config file < flags, then train.

    Args:
        config_cls: the app's frozen ``FinetuneConfig`` dataclass.
        trainer: the app's training module (``prepare`` and ``train``, see
            ``shared.lifecycle``).
        app: the app name (runs registry folder and module path).
        argv: arguments (default: ``sys.argv[1:]``).
        input_hint: what the printed ``predict`` example takes (IMAGE, CLIP.wav ...).

    Returns:
        The exit status: 0; 2 with a one-line ``error:`` message for bad input; 130 after
        Ctrl-C (or, for a job, SIGTERM).
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    job, argv = _job_flags(argv)
    if job.job_dir is None:
        return _finetune(config_cls, trainer, app, argv, input_hint)[0]
    signal.signal(signal.SIGTERM, _cancel)
    code, run = 1, None
    try:
        progress = ProgressCallback(
            Path(job.job_dir) / "progress.json", time_budget_s=job.time_budget_s
        )
        code, run = _finetune(
            config_cls, trainer, app, argv, input_hint, callbacks=[progress], verbose=2
        )
    except KeyboardInterrupt:
        print("cancelled", flush=True)
        code = CANCELLED_STATUS
    except SystemExit as exit_request:  # --help, or flags argparse refused
        code = exit_request.code if isinstance(exit_request.code, int) else 1
    finally:
        write_exit(job.job_dir, code, run.ref if run is not None else None)
    return code


def _job_flags(argv):
    """(the job flags, the finetune flags): ``--job-dir`` and ``--time-budget-s`` of a
    Train-page job taken out of ``argv``, exactly as written."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--job-dir", default=None)
    parser.add_argument("--time-budget-s", type=float, default=None)
    return parser.parse_known_args(sys.argv[1:] if argv is None else argv)


def _cancel(signum, frame):
    raise KeyboardInterrupt


def _finetune(config_cls, trainer, app, argv, input_hint, callbacks=(), verbose=1):
    """Parse ``argv`` and train; (exit status, the complete run or None)."""
    parser = build_parser(config_cls, prog=f"python -m apps.{app}.finetune")
    parser.add_argument(
        "--resume",
        default=None,
        help="run:<id> of an interrupted run (a complete run is left as it is, exit 0)",
    )
    parallel.add_flags(parser)
    try:
        config, args = parse_config(config_cls, argv, parser=parser)
        run = None
        if args.resume:
            run = _resumable_run(args.resume, config.runs_dir, app)
            if run.state == "complete":
                print(f"run {run.ref} is already complete, nothing to resume; files in {run.path}")
                return 0, None
            config = config_from_dict(config_cls, run.config)
        parallel.start(args)
        run = run_training(app, config, trainer, run=run, callbacks=callbacks, verbose=verbose)
    except (ValueError, OSError) as error:
        return report_error(error), None
    except KeyboardInterrupt:  # Ctrl-C: the run was marked cancelled on the way out
        return report_error(
            "interrupted; the run is cancelled, --resume continues it", CANCELLED_STATUS
        ), None
    if parallel.process_index():
        print(f"process {parallel.process_index()} done; process 0 writes the run")
        return 0, None
    metrics = run.metrics
    figures = ", ".join(
        f"{key} {value:.3f}" for key, value in metrics.items() if isinstance(value, float)
    )
    split = f" on the {metrics['split']} split" if "split" in metrics else ""
    print(f"run {run.ref} complete: {figures}{split}; files in {run.path}")
    print(f"try it: python -m apps.{app}.predict {input_hint} --model {run.ref}")
    return 0, run


def _resumable_run(ref, runs_dir, app):
    """The run ``--resume`` names; refuses one another process is still training."""
    run = runs.open_run(ref, runs_dir=runs_dir, app=app)
    status = run.status
    if status["state"] == "running":
        raise ValueError(f"run {run.ref} is still running (pid {status.get('pid')}); not resumed")
    if not run.config:
        raise ValueError(f"run {run.ref} has no config.json in {run.path}: cannot resume it")
    return run
