"""``python -m apps.speech.finetune --data SOURCE``: keyword/audio-class heads on the Whisper
encoder, or transcript fine-tuning of the Whisper decoder; writes a run."""

import logging
import sys

import numpy as np

from apps.speech.config import FinetuneConfig
from shared import devices, runs
from shared.cli import config_to_dict
from shared.finetune_cli import finetune_main, recording_failures
from shared.training import TrainingPlan, set_seed

APP = "speech"
logger = logging.getLogger(__name__)


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
    with recording_failures(run):
        with setup.scope():
            metrics = trainer.train(
                prepared,
                config,
                TrainingPlan.from_config(config, jit_compile=setup.jit_compile),
                run,
                callbacks=callbacks,
                verbose=verbose,
            )
        run.save_metrics(metrics)
    run.set_status("complete", task=config.task)
    return run


def main(argv=None):
    """Parse flags (defaults < --config file < flags), train, print where the run is."""
    return finetune_main(FinetuneConfig, run_finetune, app=APP, argv=argv, input_hint="CLIP.wav")


if __name__ == "__main__":
    sys.exit(main())
