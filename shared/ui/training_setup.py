"""What the Train page offers per app, without Streamlit: modes, finetune flags, demo data.

Everything is read from each app's spec: its ``FinetuneConfig`` dataclass (fields, defaults,
the choices of ``mode``) and its demo dataset, so a new app or a new flag needs no change here.
"""

import dataclasses
import typing

from shared.atomic_io import atomic_write_json
from shared.jobs import jobs_root


def trainable_apps(specs):
    """The specs of the apps that train (with a ``FinetuneConfig``)."""
    return [spec for spec in specs if spec.finetune_config is not None]


def config_defaults(spec):
    """Field name -> default value of the app's config."""
    return {
        field.name: field.default
        for field in dataclasses.fields(spec.finetune_config)
        if field.default is not dataclasses.MISSING
    }


def data_help(spec):
    """What the app's ``--data`` expects (its config field's help text)."""
    field = next(f for f in dataclasses.fields(spec.finetune_config) if f.name == "data")
    return field.metadata.get("help", "see the app's finetune --help")


def mode_choices(spec):
    """The app's training modes (its ``mode`` field's choices), default first; () if none."""
    hints = typing.get_type_hints(spec.finetune_config)
    if "mode" not in hints:
        return ()
    choices = list(typing.get_args(hints["mode"]))
    default = config_defaults(spec).get("mode")
    return tuple(sorted(choices, key=lambda choice: choice != default))


def mode_label(mode):
    """A training mode as words: ``feature_extract`` -> "Feature extract"."""
    return mode.replace("_", " ").capitalize()


def expected_epochs(spec, mode, epochs):
    """Epochs over all phases: fine-tuning first trains the head for ``head_epochs``."""
    defaults = config_defaults(spec)
    head = defaults.get("head_epochs", 0) if mode == "fine_tune" else 0
    return int(epochs or defaults.get("epochs", 1)) + int(head)


def finetune_args(spec, data, *, mode=None, epochs=None, time_budget_s=None):
    """The app's finetune flags for a UI job, and the expected number of epochs.

    TensorBoard logs are switched off (the page draws its own curves); an app with its own
    time budget (the GAN) also gets it, so that its measurements fit in the budget.
    """
    defaults = config_defaults(spec)
    args = ["--data", str(data)]
    if mode and "mode" in defaults:
        args += ["--mode", mode]
    if epochs:
        args += ["--epochs", str(int(epochs))]
    if "tensorboard" in defaults:
        args.append("--no-tensorboard")
    if time_budget_s and "time_budget_minutes" in defaults:
        args += ["--time-budget-minutes", f"{time_budget_s / 60:.3f}"]
    return args, expected_epochs(spec, mode, epochs)


def demo_dataset(spec, jobs_dir=None):
    """The folder of the app's small synthetic dataset, written once; None if it has none."""
    if spec.demo_data is None:
        return None
    folder = jobs_root(jobs_dir) / "demo-data" / spec.name
    marker = folder.parent / f"{spec.name}.complete.json"
    if not marker.exists():
        spec.demo_data.write(folder)
        atomic_write_json(marker, {"app": spec.name, "description": spec.demo_data.description})
    return folder
