"""A speech fine-tune of either kind, chosen by the data (``FinetuneConfig.task``): keyword /
audio-class heads on the Whisper encoder (``train_classifier``) for class folders and
``tfds:`` sets, transcript fine-tuning of the Whisper decoder (``train_decoder``) for a
manifest."""

from apps.speech import train_classifier, train_decoder

RECIPES = {"classify": train_classifier, "transcribe": train_decoder}


def prepare(config):
    """Read the data and load the base model of ``config.task`` (errors before any run is
    created)."""
    return RECIPES[config.task].prepare(config)


def train(prepared, config, plan, run, *, callbacks=(), verbose=1):
    """Train per ``config`` into ``run`` (its status records the task); returns the run's
    metrics (``"task"`` among them)."""
    run.set_status("running", task=config.task)
    return RECIPES[config.task].train(
        prepared, config, plan, run, callbacks=callbacks, verbose=verbose
    )
