"""``python -m apps.speech.finetune --data SOURCE``: keyword/audio-class heads on the Whisper
encoder, or transcript fine-tuning of the Whisper decoder; writes a run."""

import logging
import sys

import numpy as np

from apps.speech.config import FinetuneConfig
from shared import devices, runs
from shared.cli import build_parser, config_from_dict, config_to_dict, parse_config, report_error
from shared.training import TrainingPlan, set_seed

APP = "speech"
logger = logging.getLogger(__name__)


def plan_of(config, setup, mode=None):
    """The shared recipe's ``TrainingPlan`` for this config."""
    return TrainingPlan(
        mode=mode or config.mode,
        epochs=config.epochs,
        head_epochs=config.head_epochs,
        learning_rate=config.learning_rate,
        fine_tune_learning_rate=config.fine_tune_learning_rate,
        unfreeze_blocks=config.unfreeze_blocks,
        batch_size=config.batch_size,
        patience=config.patience,
        seed=config.seed,
        jit_compile=setup.jit_compile,
        tensorboard=config.tensorboard,
    )


def split_indices(count, fraction, seed):
    """Shuffled ``(train, val)`` index arrays; at least one of each when possible."""
    order = np.random.default_rng(seed).permutation(count)
    held_out = int(round(fraction * count))
    if fraction > 0 and count > 1:
        held_out = min(max(held_out, 1), count - 1)
    return np.sort(order[held_out:]), np.sort(order[:held_out])


def run_finetune(config, *, run=None, callbacks=(), verbose=1):
    """Train per ``config`` into a new (or the given, resumed) run and return the run."""
    from apps.speech import train_classifier, train_decoder

    config.validate()
    set_seed(config.seed)
    setup = devices.configure()
    trainer = train_decoder if config.task == "transcribe" else train_classifier
    prepared = trainer.prepare(config)  # data and base model checked before a run exists
    run = run or runs.new_run(
        APP, config_to_dict(config), runs_dir=config.runs_dir, name=config.name
    )
    run.set_status("running", device=setup.describe(), task=config.task)
    logger.info("run %s started in %s (resume with --resume %s)", run.ref, run.path, run.ref)
    try:
        with setup.scope():
            metrics = trainer.train(
                prepared, config, plan_of(config, setup), run, callbacks=callbacks, verbose=verbose
            )
    except KeyboardInterrupt:
        run.set_status("cancelled", message="interrupted by the user")
        raise
    except BaseException as error:
        run.set_status("failed", message=f"{type(error).__name__}: {error}")
        raise
    run.save_metrics(metrics)
    run.set_status("complete", task=config.task)
    return run


def main(argv=None):
    """Parse flags (defaults < --config file < flags), train, print where the run is."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    parser = build_parser(FinetuneConfig, prog="python -m apps.speech.finetune")
    parser.add_argument("--resume", default=None, help="run:<id> of an interrupted run")
    try:
        config, args = parse_config(FinetuneConfig, argv, parser=parser)
        run = None
        if args.resume:
            run = runs.open_run(args.resume, runs_dir=config.runs_dir, app=APP)
            config = config_from_dict(FinetuneConfig, run.config)
        run = run_finetune(config, run=run)
    except (ValueError, OSError) as error:
        return report_error(error)
    summary = ", ".join(f"{k} {v:.3f}" for k, v in run.metrics.items() if isinstance(v, float))
    print(f"run {run.ref} complete: {summary}; files in {run.path}")
    print(f"try it: python -m apps.speech.predict CLIP.wav --model {run.ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
