"""Train a DCGAN or a Projected GAN on an image set, from scratch or from a pretrained
generator: FID/KID over time, sample grids per epoch, a wall-time budget, and a crash-safe
backup each epoch that a resumed run continues.
"""

import shutil
import time
from dataclasses import dataclass

import keras

from apps.gan.data import load_images
from apps.gan.export import export_generator
from apps.gan.metrics import compute_fid_kid, get_feature_extractor
from apps.gan.model import (
    build_gan,
    generate,
    latent_size,
    latent_vectors,
    load_generator,
    output_size,
    sample,
)
from apps.gan.predictor import image_grid, save_images
from shared import resumable
from shared.atomic_io import atomic_write_json
from shared.batches import batches
from shared.export_check import format_report
from shared.plots import save_history


@dataclass(frozen=True)
class Prepared:
    """What training needs before a run exists.

    Attributes:
        images: ``(N, size, size, 3)`` in [-1, 1], at the generator's size.
        generator: the pretrained generator to start from, or None (from scratch).
    """

    images: object
    generator: object = None


def prepare(config):
    """The training images and the pretrained generator, if any (errors before any run
    exists); a pretrained generator sets the image size."""
    generator = load_generator(config.model)[0] if config.pretrained else None
    image_size = output_size(generator) if generator is not None else config.image_size
    images = load_images(config.data, image_size, max_images=config.max_images, seed=config.seed)
    if len(images) < config.batch_size:
        raise ValueError(
            f"{config.data}: {len(images)} images, fewer than one batch ({config.batch_size})"
        )
    return Prepared(images, generator)


def train(prepared, config, plan, run, *, callbacks=(), verbose=1):
    """Train the GAN per ``config`` (the plan's fields come from it too); returns the run's
    metrics: the last FID/KID and their curve."""
    images = prepared.images
    run.set_status("running", architecture=config.discriminator)
    gan = build_gan(config, prepared.generator)
    curve = FidCurve(run, images, config, get_feature_extractor(), latent_size(gan.generator))
    backup = _fit(gan, images, config, run, curve, callbacks, verbose)
    gan.generator.save(run.model_path)
    if config.export:
        report = export_generator(run, gan.generator, config.export, config.seed)
        if verbose:
            print(format_report(report), flush=True)
    run.save_history({"gan": backup.history})
    _plot_fid(curve.curve, run.artifact("fid.png"))
    final = curve.curve[-1] if curve.curve else {}
    shutil.rmtree(backup.folder, ignore_errors=True)  # the results are saved: done
    run.set_status("running", fid=final.get("fid"))
    return final | {
        "curve": curve.curve,
        "num_images": len(images),
        "image_size": int(images.shape[1]),
        "architecture": config.discriminator,
        "start": config.model if config.pretrained else "scratch",
        "feature_network": curve.extractor.description,
        "fid_samples": config.fid_samples,
    }


class FidCurve(keras.callbacks.Callback):
    """Per epoch: a sample grid from fixed latents; every ``fid_every`` epochs FID/KID
    against the real images (time spent measuring is excluded from the training clock);
    stops training when the wall-time budget is spent. A run from a pretrained generator
    also measures where it starts (epoch 0). Its curve and clock are saved with each backup,
    so a resumed run continues them."""

    def __init__(self, run, real_images, config, extractor, latent_dim):
        super().__init__()
        self.run, self.real, self.config, self.extractor = run, real_images, config, extractor
        self.fixed_latent = latent_vectors(64, config.seed, latent_dim)
        self.curve, self.train_seconds, self._mark = [], 0.0, None

    def resumable_state(self):
        """The FID curve and the training clock at the end of the epoch being backed up."""
        return {"curve": self.curve, "train_seconds": self.train_seconds}

    def restore_state(self, state):
        self.curve, self.train_seconds = list(state["curve"]), state["train_seconds"]

    def on_train_begin(self, logs=None):
        if self.config.pretrained and not self.curve:  # not on a resume
            self._measure(0)

    def on_epoch_begin(self, epoch, logs=None):
        # The clock runs from here to this callback's epoch end: FID measurements, sample
        # grids and the checkpoint saves after it are not training time.
        self._mark = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        budget = self.config.time_budget_minutes
        elapsed = self.train_seconds + time.perf_counter() - self._mark
        if budget and elapsed >= 60 * budget:
            self.model.stop_training = True  # mid-epoch: the budget is not overshot

    def on_epoch_end(self, epoch, logs=None):
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
            scores = self._measure(epoch + 1)
            if logs is not None:
                logs.update(fid=scores["fid"], kid=scores["kid"])
        if over_budget:
            self.model.stop_training = True

    def _measure(self, epoch):
        """FID/KID after ``epoch`` epochs (0: before training), appended to the curve."""
        config = self.config
        fake = sample(self.model.generator, config.fid_samples, 10_000 + epoch - 1)
        scores = compute_fid_kid(self.real[: config.fid_samples], fake, self.extractor)
        self.curve.append(
            {
                "epoch": epoch,
                "train_seconds": round(self.train_seconds, 2),
                **{k: scores[k] for k in ("fid", "kid", "kid_std")},
            }
        )
        atomic_write_json(self.run.artifact("fid_curve.json"), self.curve)
        return scores


def _dataset(images, config):
    """Whole batches of the images in an order set by (seed, epoch): a resumed run sees the
    batches of an uninterrupted one. ``tf.data`` on TensorFlow, else ``shared.batches``."""
    if keras.backend.backend() != "tensorflow":
        return batches((images,), config.batch_size, seed=config.seed, drop_remainder=True)
    import tensorflow as tf

    dataset = resumable.epoch_shuffled(images, config.seed)
    return dataset.batch(config.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _fit(gan, images, config, run, curve, callbacks, verbose):
    """Train ``gan`` from its newest whole backup (one per epoch, written so that a kill
    inside a write keeps the one before); returns the backup, whose ``history`` holds every
    epoch, those before a resume included."""
    backup = resumable.ResumableFit(run.artifact("backup"), config.seed, companions=[curve])
    initial_epoch = backup.restore(gan)
    resumable.trim_csv(run.artifact("history.csv"), initial_epoch)
    gan.fit(
        _dataset(images, config),
        epochs=config.epochs,
        # A run the time budget stopped trains no more: it only saves its results.
        initial_epoch=config.epochs if backup.stopped else initial_epoch,
        verbose=verbose,
        shuffle=False,  # the dataset orders itself per epoch
        callbacks=[
            resumable.RunGuard(run.path),
            curve,
            keras.callbacks.CSVLogger(str(run.artifact("history.csv")), append=True),
            backup,
            *callbacks,
        ],
    )
    return backup


def _plot_fid(curve, path):
    if curve:
        save_history({"gan": {"fid": [row["fid"] for row in curve]}}, path, metrics=("fid",))
