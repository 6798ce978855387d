"""What the Train page offers per app, without Streamlit: modes, finetune flags, demo data.

Everything is read from each app's ``FinetuneConfig`` dataclass (fields, defaults, the
choices of ``mode``), so a new app or a new flag needs no change here.
"""

import dataclasses
import importlib
import typing
from pathlib import Path

import numpy as np

from apps import APPS
from shared.atomic_io import atomic_write_json
from shared.jobs import jobs_root

ROOT = Path(__file__).resolve().parents[2]
DEMO_DATA = {
    "image_classify": "coloured squares, circles and stripes (3 classes, 20 images each)",
    "detection": "synthetic scenes of circles, squares and triangles (VOC boxes, 32 images)",
    "gan": "coloured discs on noisy backgrounds (64 images)",
    "speech": "low, high and chirping tones (3 classes, 8 clips each)",
}


def trainable_apps():
    """``[(name, title)]`` of the apps with a ``finetune.py`` and a ``config.py``."""
    return [
        (spec.name, spec.title)
        for spec in APPS
        if all(
            (ROOT / "apps" / spec.name / file).is_file() for file in ("finetune.py", "config.py")
        )
    ]


def config_class(app):
    """``apps.<app>.config.FinetuneConfig``."""
    return importlib.import_module(f"apps.{app}.config").FinetuneConfig


def config_defaults(app):
    """Field name -> default value of the app's config."""
    return {
        field.name: field.default
        for field in dataclasses.fields(config_class(app))
        if field.default is not dataclasses.MISSING
    }


def data_help(app):
    """What the app's ``--data`` expects (its config field's help text)."""
    field = next(f for f in dataclasses.fields(config_class(app)) if f.name == "data")
    return field.metadata.get("help", "see the app's finetune --help")


def mode_choices(app):
    """The app's training modes (its ``mode`` field's choices), default first; () if none."""
    config_cls = config_class(app)
    hints = typing.get_type_hints(config_cls)
    if "mode" not in hints:
        return ()
    choices = list(typing.get_args(hints["mode"]))
    default = config_defaults(app).get("mode")
    return tuple(sorted(choices, key=lambda choice: choice != default))


def expected_epochs(app, mode, epochs):
    """Epochs over all phases: fine-tuning first trains the head for ``head_epochs``."""
    defaults = config_defaults(app)
    head = defaults.get("head_epochs", 0) if mode == "fine_tune" else 0
    return int(epochs or defaults.get("epochs", 1)) + int(head)


def finetune_args(app, data, *, mode=None, epochs=None, time_budget_s=None):
    """The ``apps.<app>.finetune`` flags for a UI job, and the expected number of epochs.

    TensorBoard logs are switched off (the page draws its own curves); an app with its own
    time budget (the GAN) also gets it, so that its measurements fit in the budget.
    """
    defaults = config_defaults(app)
    args = ["--data", str(data)]
    if mode and "mode" in defaults:
        args += ["--mode", mode]
    if epochs:
        args += ["--epochs", str(int(epochs))]
    if "tensorboard" in defaults:
        args.append("--no-tensorboard")
    if time_budget_s and "time_budget_minutes" in defaults:
        args += ["--time-budget-minutes", f"{time_budget_s / 60:.3f}"]
    return args, expected_epochs(app, mode, epochs)


def _write_png(image, path):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)


def _demo_image_classify(folder):
    from apps.image_classify.data import synthetic_shapes, write_image_folder

    write_image_folder(synthetic_shapes(num_per_class=20, image_size=64, seed=0), folder)


def _demo_detection(folder):
    from apps.detection.scenes import make_scenes, write_voc

    write_voc(make_scenes(32, image_size=128, seed=0), folder)


def _demo_gan(folder):
    from apps.gan.data import synthetic_blobs

    for index, image in enumerate(synthetic_blobs(64, 32, seed=0)):
        _write_png(np.round((image + 1) * 127.5).astype("uint8"), folder / f"{index:03d}.png")


def _demo_speech(folder):
    from apps.speech.data import synthetic_tones
    from shared.audio import encode_wav

    clips = synthetic_tones(num_per_class=8, seconds=1.0, seed=0)
    for index, (clip, label) in enumerate(zip(clips.clips, clips.labels)):
        path = folder / clips.class_names[label] / f"{index:03d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode_wav(clip, 16000))


_DEMO_WRITERS = {
    "image_classify": _demo_image_classify,
    "detection": _demo_detection,
    "gan": _demo_gan,
    "speech": _demo_speech,
}


def demo_dataset(app, jobs_dir=None):
    """The folder of the app's small synthetic dataset, written once; None if it has none."""
    writer = _DEMO_WRITERS.get(app)
    if writer is None:
        return None
    folder = jobs_root(jobs_dir) / "demo-data" / app
    marker = folder.parent / f"{app}.complete.json"
    if not marker.exists():
        writer(folder)
        atomic_write_json(marker, {"app": app, "description": DEMO_DATA[app]})
    return folder
