"""``python -m apps.translate.finetune --data PAIRS``: adapt a translation model; writes a run
with BLEU/chrF before and after and the model as a preset (load it with ``run:<id>``)."""

import logging
import sys

from apps.translate.config import FinetuneConfig
from shared import devices, runs
from shared.cli import config_to_dict
from shared.finetune_cli import finetune_main, recording_failures
from shared.training import TrainingPlan, set_seed

APP = "translate"
logger = logging.getLogger(__name__)


def run_finetune(config, *, run=None, callbacks=(), verbose=1):
    """Train per ``config`` into a new (or the given, resumed) run and return the run."""
    from apps.translate import train

    config.validate()
    set_seed(config.seed)
    setup = devices.configure()
    prepared = train.prepare(config)  # data and base model checked before a run exists
    run = run or runs.new_run(
        APP, config_to_dict(config), runs_dir=config.runs_dir, name=config.name
    )
    run.set_status("running", device=setup.describe())
    logger.info("run %s started in %s (resume with --resume %s)", run.ref, run.path, run.ref)
    with recording_failures(run):
        with setup.scope():
            plan = TrainingPlan.from_config(config, jit_compile=setup.jit_compile)
            metrics = train.train(prepared, config, plan, run, callbacks=callbacks, verbose=verbose)
        run.save_metrics(metrics)
    run.set_status("complete")
    return run


def main(argv=None):
    """Parse flags (defaults < --config file < flags), train, print where the run is."""
    return finetune_main(FinetuneConfig, run_finetune, app=APP, argv=argv, input_hint='"TEXT"')


if __name__ == "__main__":
    sys.exit(main())
