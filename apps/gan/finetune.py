"""``python -m apps.gan.finetune --data SOURCE --architecture projected|dcgan``: train a GAN run
with FID/KID over time, sample grids per epoch, checkpoints and resume."""

import logging
import sys
import time

import keras

from apps.gan.config import FinetuneConfig
from shared import devices, runs
from shared.atomic_io import atomic_write_json, read_json
from shared.cli import config_to_dict
from shared.finetune_cli import finetune_main, recording_failures
from shared.training import set_seed

APP = "gan"
logger = logging.getLogger(__name__)


class ProgressCallback(keras.callbacks.Callback):
    """Per epoch: a sample grid from fixed latents; every ``fid_every`` epochs FID/KID
    against the real images (time spent measuring is excluded from the training clock);
    stops training when the wall-time budget is spent."""

    def __init__(self, run, real_images, config, extractor):
        super().__init__()
        from apps.gan.model import latent_vectors

        self.run, self.real, self.config, self.extractor = run, real_images, config, extractor
        self.fixed_latent = latent_vectors(64, config.seed)
        # A resumed run continues its stored curve (an interrupted one's) and clock.
        self.curve = read_json(run.artifact("fid_curve.json"), default=[])
        self.train_seconds, self._mark = 0.0, None

    def on_epoch_begin(self, epoch, logs=None):
        if self._mark is None:  # the first epoch trained here: ``epoch`` of them are done
            self.curve = [row for row in self.curve if row["epoch"] <= epoch]
            self.train_seconds = self.curve[-1]["train_seconds"] if self.curve else 0.0
        # The clock runs from here to this callback's epoch end: FID measurements, sample
        # grids and the checkpoint saves after it are not training time.
        self._mark = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        budget = self.config.time_budget_minutes
        elapsed = self.train_seconds + time.perf_counter() - self._mark
        if budget and elapsed >= 60 * budget:
            self.model.stop_training = True  # mid-epoch: the budget is not overshot

    def on_epoch_end(self, epoch, logs=None):
        from apps.gan.metrics import compute_fid_kid
        from apps.gan.model import generate, latent_vectors
        from apps.gan.predict import image_grid, save_images

        self.train_seconds += time.perf_counter() - self._mark
        generator, config = self.model.generator, self.config
        save_images(
            [image_grid(generate(generator, self.fixed_latent))],
            self.run.artifact("samples"),
            prefix=f"epoch{epoch + 1:03d}",
        )
        last = epoch + 1 == self.params.get("epochs")
        over_budget = bool(config.time_budget_minutes) and (
            self.train_seconds >= 60 * config.time_budget_minutes
        )
        if (epoch + 1) % config.fid_every == 0 or last or over_budget:
            fake = generate(generator, latent_vectors(config.fid_samples, 10_000 + epoch))
            scores = compute_fid_kid(self.real[: config.fid_samples], fake, self.extractor)
            self.curve.append(
                {
                    "epoch": epoch + 1,
                    "train_seconds": round(self.train_seconds, 2),
                    **{k: scores[k] for k in ("fid", "kid", "kid_std")},
                }
            )
            atomic_write_json(self.run.artifact("fid_curve.json"), self.curve)
            if logs is not None:
                logs.update(fid=scores["fid"], kid=scores["kid"])
        if over_budget:
            self.model.stop_training = True


def _dataset(images, config):
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(images)
    dataset = dataset.shuffle(len(images), seed=config.seed, reshuffle_each_iteration=True)
    return dataset.batch(config.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _callbacks(run, progress):
    return [
        progress,
        keras.callbacks.CSVLogger(str(run.artifact("history.csv")), append=True),
        keras.callbacks.BackupAndRestore(str(run.artifact("backup"))),
    ]


def run_finetune(config, *, run=None, callbacks=(), verbose=1):
    """Train per ``config`` into a new (or the given, resumed) run and return the run."""
    from apps.gan.data import load_images
    from apps.gan.metrics import get_feature_extractor
    from apps.gan.model import build_gan

    config.validate()
    set_seed(config.seed)
    setup = devices.configure()
    images = load_images(
        config.data, config.image_size, max_images=config.max_images, seed=config.seed
    )
    if len(images) < config.batch_size:
        raise ValueError(
            f"{config.data}: {len(images)} images, fewer than one batch ({config.batch_size})"
        )
    run = run or runs.new_run(
        APP, config_to_dict(config), runs_dir=config.runs_dir, name=config.name
    )
    run.set_status("running", device=setup.describe(), architecture=config.architecture)
    logger.info("run %s started in %s (resume with --resume %s)", run.ref, run.path, run.ref)
    with recording_failures(run):
        with setup.scope():
            gan = build_gan(config)
        progress = ProgressCallback(run, images, config, get_feature_extractor())
        history = gan.fit(
            _dataset(images, config),
            epochs=config.epochs,
            verbose=verbose,
            callbacks=_callbacks(run, progress) + list(callbacks),
        )
        gan.generator.save(run.model_path)
        run.save_history({"gan": {k: [float(v) for v in vs] for k, vs in history.history.items()}})
        _plot_fid(progress.curve, run.artifact("fid.png"))
        final = progress.curve[-1] if progress.curve else {}
        run.save_metrics(
            final
            | {
                "curve": progress.curve,
                "num_images": len(images),
                "architecture": config.architecture,
                "feature_network": progress.extractor.description,
                "fid_samples": config.fid_samples,
            }
        )
    run.set_status("complete", fid=final.get("fid"))
    return run


def _plot_fid(curve, path):
    from shared.plots import save_history

    if curve:
        save_history({"gan": {"fid": [row["fid"] for row in curve]}}, path, metrics=("fid",))


def main(argv=None):
    """Parse flags (defaults < --config file < flags), train, print where the run is."""
    return finetune_main(
        FinetuneConfig,
        run_finetune,
        app=APP,
        argv=argv,
        input_hint="--num-samples 16 --out samples",
    )


if __name__ == "__main__":
    sys.exit(main())
