"""``python -m apps.detection.finetune --data VOC|COCO|YOLO|tfds:NAME``: train a detector run."""

import functools
import logging
import sys

import numpy as np

from apps.detection import train as train_lib
from apps.detection.checks import load_checked
from apps.detection.config import FinetuneConfig
from shared import devices, runs
from shared.cli import config_to_dict
from shared.finetune_cli import finetune_main, recording_failures
from shared.plots import save_history
from shared.training import TrainingPlan, set_seed, train_phase

APP = "detection"
logger = logging.getLogger(__name__)


def _split(data, config):
    order = np.random.default_rng(config.seed).permutation(len(data.samples))
    held_out = int(round(config.validation_split * len(order)))
    if config.validation_split > 0 and len(order) > 1:
        held_out = min(max(held_out, 1), len(order) - 1)
    train = [data.samples[i] for i in order[held_out:]]
    val = [data.samples[i] for i in order[:held_out]]
    return train, val


def _export(run, model, config, scale, offset):
    """Serving graph: images in [0, 255] → raw (H/8, W/8, classes + 4) maps; decode them with
    ``apps.detection.centernet.decode``."""
    import keras

    from shared.export import export_saved_model, export_tflite

    images = keras.Input((config.image_size, config.image_size, 3), name="images")
    scaled = keras.layers.Rescaling(scale, offset, name="scale")(images)
    serving = keras.Model(images, model(scaled, training=False), name="serving")
    saved_model = export_saved_model(serving, run.artifact("export/saved_model"))
    if "tflite" in config.export:
        export_tflite(saved_model, run.artifact("export/model.tflite"))


def _save(run, model, data, config, scale, offset, history):
    model_dir = run.artifact("model")
    model_dir.mkdir(parents=True, exist_ok=True)
    model.save(model_dir / "model.keras")
    meta = {
        "class_names": data.class_names,
        "image_size": config.image_size,
        "scale": scale,
        "offset": offset,
        "architecture": "centernet",
    }
    runs.atomic_write_json(model_dir / "detector.json", meta)
    if config.export:
        _export(run, model, config, scale, offset)
    run.save_labels(data.class_names)
    run.save_history({"detector": history})
    save_history({"detector": history}, run.artifact("history.png"), metrics=("loss", "map50"))


def run_finetune(config, *, run=None, callbacks=(), verbose=1):
    """Train per ``config`` into a new (or the given, resumed) run and return the run."""
    config.validate()
    set_seed(config.seed)
    setup = devices.configure()
    data = load_checked(config.data)  # broken annotations: error or warning first
    backbone, scale, offset = train_lib.load_backbone(config.model, config.mode != "scratch")
    run = run or runs.new_run(
        APP, config_to_dict(config), runs_dir=config.runs_dir, name=config.name
    )
    run.set_status("running", device=setup.describe())
    logger.info("run %s started in %s (resume with --resume %s)", run.ref, run.path, run.ref)
    with recording_failures(run):
        train, val = _split(data, config)
        scored = val or train
        num_classes = len(data.class_names)
        with setup.scope(), train_lib.input_pipelines() as stop:
            model, compile_kwargs = train_lib.make_model(
                backbone, num_classes, config.mode, config.unfreeze_blocks
            )
            make = functools.partial(train_lib.make_dataset, stop=stop)
            mapper = train_lib.MapCallback(
                scored, data.class_names, config.image_size, scale, offset, config.map_every
            )
            history = train_phase(
                model,
                make(train, num_classes, config, scale, offset, train=True),
                make(val, num_classes, config, scale, offset, train=False) if val else None,
                TrainingPlan.from_config(config, jit_compile=setup.jit_compile),
                run,
                "detector",
                config.learning_rate,
                compile_kwargs=compile_kwargs,
                callbacks=[mapper, *callbacks],
                verbose=verbose,
            )
        predictions = train_lib.predict_samples(
            model, scored, num_classes, config.image_size, scale, offset
        )
        metrics = train_lib.coco_map(scored, predictions, data.class_names)
        _save(run, model, data, config, scale, offset, history)
        run.save_metrics(
            metrics
            | {
                "split": "validation" if val else "train",
                "num_images": len(scored),
                "map_epochs": mapper.measured_epochs,
            }
        )
    run.set_status("complete", map50=metrics["map50"])
    return run


def main(argv=None):
    """Parse flags (defaults < --config file < flags), train, print where the run is."""
    return finetune_main(FinetuneConfig, run_finetune, app=APP, argv=argv, input_hint="IMAGE")


if __name__ == "__main__":
    sys.exit(main())
