"""The ``finetune`` command every app shares: config parsing, resume, one-line errors."""

import contextlib
import logging

from shared import runs
from shared.cli import build_parser, config_from_dict, parse_config, report_error

logger = logging.getLogger(__name__)


def finetune_main(config_cls, run_finetune, *, app, argv=None, input_hint="INPUT"):
    """``python -m apps.<app>.finetune``: defaults < --config file < flags, then train.

    Args:
        config_cls: the app's frozen ``FinetuneConfig`` dataclass.
        run_finetune: ``(config, run=None) -> Run`` of the app.
        app: the app name (runs registry folder and module path).
        argv: arguments (default: ``sys.argv[1:]``).
        input_hint: what the printed ``predict`` example takes (IMAGE, CLIP.wav ...).

    Returns:
        The exit status: 0, or 2 with a one-line ``error:`` message for bad input.
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    parser = build_parser(config_cls, prog=f"python -m apps.{app}.finetune")
    parser.add_argument(
        "--resume",
        default=None,
        help="run:<id> of an interrupted run (a complete run is left as it is, exit 0)",
    )
    try:
        config, args = parse_config(config_cls, argv, parser=parser)
        run = None
        if args.resume:
            run = _resumable_run(args.resume, config.runs_dir, app)
            if run.state == "complete":
                print(f"run {run.ref} is already complete, nothing to resume; files in {run.path}")
                return 0
            config = config_from_dict(config_cls, run.config)
        run = run_finetune(config, run=run)
    except (ValueError, OSError) as error:
        return report_error(error)
    except KeyboardInterrupt:  # Ctrl-C: the run was marked cancelled on the way out
        return report_error("interrupted; the run is cancelled, --resume continues it", 130)
    metrics = run.metrics
    figures = ", ".join(
        f"{key} {value:.3f}" for key, value in metrics.items() if isinstance(value, float)
    )
    split = f" on the {metrics['split']} split" if "split" in metrics else ""
    print(f"run {run.ref} complete: {figures}{split}; files in {run.path}")
    print(f"try it: python -m apps.{app}.predict {input_hint} --model {run.ref}")
    return 0


def _resumable_run(ref, runs_dir, app):
    """The run ``--resume`` names; refuses one another process is still training."""
    run = runs.open_run(ref, runs_dir=runs_dir, app=app)
    status = run.status
    if status["state"] == "running":
        raise ValueError(f"run {run.ref} is still running (pid {status.get('pid')}); not resumed")
    if not run.config:
        raise ValueError(f"run {run.ref} has no config.json in {run.path}: cannot resume it")
    return run


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
