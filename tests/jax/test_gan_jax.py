"""GAN training on the JAX backend, in an environment without TensorFlow: tiny runs of both
architectures, the per-epoch backup and resume, sampling, and a start from the bundled
generator."""

import json
import math
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.jax


class WeightsRecorder(keras.callbacks.Callback):
    """The generator's weights before and after fit."""

    def on_train_begin(self, logs=None):
        self.before = [np.array(w) for w in self.model.generator.trainable_weights]

    def on_train_end(self, logs=None):
        self.after = [np.array(w) for w in self.model.generator.weights]


class StopAfterFirstBackup(keras.callbacks.Callback):
    """Ends training with an error after the first epoch's backup, as a kill would."""

    def on_epoch_end(self, epoch, logs=None):
        raise RuntimeError("killed after the first backup")


def _tiny(blobs_folder, runs_dir, **overrides):
    from apps.gan.config import FinetuneConfig

    # Two epochs of two batches; FID/KID once, after the last.
    settings = dict(epochs=2, fid_every=2, data=str(blobs_folder), runs_dir=str(runs_dir))
    return FinetuneConfig.tiny(**(settings | overrides))


def _train(config, *callbacks):
    from apps.gan import train
    from shared.lifecycle import run_training

    return run_training("gan", config, train, callbacks=list(callbacks), verbose=0)


@pytest.fixture(scope="module")
def blobs_folder(tmp_path_factory):
    from tests.gan.blobs import write_blob_folder

    return write_blob_folder(tmp_path_factory.mktemp("blobs"), 16)


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("gan_runs")


@pytest.fixture(scope="module")
def dcgan_run(blobs_folder, runs_dir):
    recorder = WeightsRecorder()
    run = _train(_tiny(blobs_folder, runs_dir, architecture="dcgan"), recorder)
    return run, recorder


def test_importing_the_app_does_not_import_tensorflow():
    import apps.gan.finetune  # noqa: F401
    import apps.gan.predict  # noqa: F401

    assert "tensorflow" not in sys.modules
    assert keras.backend.backend() == "jax"


def test_training_batches_are_whole_and_ordered_by_seed_and_epoch():
    from apps.gan.config import FinetuneConfig
    from apps.gan.train import _dataset
    from shared import resumable
    from shared.batches import epoch_order

    images = np.arange(20, dtype="float32").reshape(20, 1, 1, 1)
    dataset = _dataset(images, FinetuneConfig.tiny(data="unused", seed=5))
    try:
        for epoch in (0, 1):
            resumable.set_data_epoch(epoch)
            batches = [batch for (batch,) in dataset]
            assert [len(batch) for batch in batches] == [8, 8]  # the last 4 rows left out
            rows = np.concatenate(batches).ravel().astype(int)
            assert list(rows) == list(epoch_order(20, 5, epoch)[:16])
    finally:
        resumable.set_data_epoch(0)


def _check_trained(run, recorder):
    assert run.state == "complete" and run.model_path.is_file()
    losses = run.history["gan"]
    assert len(losses["d_loss"]) == len(losses["g_loss"]) == 2
    assert all(math.isfinite(value) for value in losses["d_loss"] + losses["g_loss"])
    assert any(not np.array_equal(a, b) for a, b in zip(recorder.before, recorder.after))
    (point,) = run.metrics["curve"]
    assert point["epoch"] == 2 and math.isfinite(point["fid"]) and math.isfinite(point["kid"])
    assert not run.artifact("backup").exists()
    assert "tensorflow" not in sys.modules


def test_a_dcgan_trains_and_its_run_reloads_and_samples(dcgan_run, runs_dir, tmp_path, capsys):
    from apps.gan import predict
    from apps.gan.model import generate, latent_vectors
    from apps.gan.predictor import Predictor

    run, recorder = dcgan_run
    _check_trained(run, recorder)
    samples = Predictor.load(run.ref, runs_dir=runs_dir).predict(4, seed=3)
    assert samples.images.shape == (4, 16, 16, 3) and samples.images.dtype == np.uint8
    generator = keras.models.clone_model(Predictor.load(run.ref, runs_dir=runs_dir).generator)
    generator.set_weights(recorder.after)  # the weights fit ended with are the saved ones
    np.testing.assert_array_equal(samples.images, generate(generator, latent_vectors(4, 3)))

    argv = ["--model", run.ref, "--num-samples", "3", "--seed", "1", "--out", str(tmp_path)]
    assert predict.main(argv + ["--json", "--runs-dir", str(runs_dir)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["num_samples"] == 3 and all(Path(path).is_file() for path in result["files"])


def test_a_resumed_dcgan_run_ends_as_an_uninterrupted_one(
    dcgan_run, blobs_folder, runs_dir, tmp_path
):
    from apps.gan import finetune
    from apps.gan.predictor import Predictor
    from shared.runs import list_runs

    config = _tiny(blobs_folder, tmp_path, architecture="dcgan")
    with pytest.raises(RuntimeError, match="killed"):
        _train(config, StopAfterFirstBackup())
    (run,) = list_runs("gan", runs_dir=tmp_path)
    assert run.state == "failed" and (run.artifact("backup") / "epoch-00001.json").is_file()

    assert finetune.main(["--resume", run.ref, "--runs-dir", str(tmp_path)]) == 0
    assert run.state == "complete"
    uninterrupted, _ = dcgan_run
    assert run.history["gan"]["d_loss"] == uninterrupted.history["gan"]["d_loss"]
    assert run.history["gan"]["g_loss"] == uninterrupted.history["gan"]["g_loss"]
    resumed = Predictor.load(run.ref, runs_dir=tmp_path).generator.weights
    reference = Predictor.load(uninterrupted.ref, runs_dir=runs_dir).generator
    for a, b in zip(resumed, reference.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_projected_gan_trains(blobs_folder, tmp_path):
    recorder = WeightsRecorder()
    run = _train(_tiny(blobs_folder, tmp_path, architecture="projected"), recorder)
    _check_trained(run, recorder)
    assert run.metrics["architecture"] == "projected"


@pytest.mark.real_weights
def test_a_finetune_starts_from_the_bundled_generator(tmp_path):
    import importlib.util

    from PIL import Image
    from skimage import data

    from apps.gan import finetune
    from apps.gan.model import load_generator, sample
    from apps.gan.predictor import Predictor
    from shared.runs import list_runs

    if importlib.util.find_spec("gan_face_generate") is None:
        pytest.skip("bundled:dcgan_faces needs gan-face-generate (requirements-nodeps.txt)")
    faces = tmp_path / "faces"
    faces.mkdir()
    for index, face in enumerate(data.lfw_subset()[:16]):
        image = Image.fromarray(np.round(face * 255).astype("uint8")).convert("RGB")
        image.resize((64, 64), Image.BICUBIC).save(faces / f"face_{index:02d}.png")
    argv = ["--data", str(faces), "--model", "bundled:dcgan_faces", "--epochs", "1"]
    argv += ["--batch-size", "8", "--fid-samples", "16", "--runs-dir", str(tmp_path / "runs")]
    assert finetune.main(argv) == 0
    (run,) = list_runs("gan", runs_dir=tmp_path / "runs")
    metrics = run.metrics
    assert metrics["start"] == "bundled:dcgan_faces" and metrics["architecture"] == "dcgan"
    assert [point["epoch"] for point in metrics["curve"]] == [0, 1]  # its start, then epoch 1
    assert all(math.isfinite(point["fid"]) for point in metrics["curve"])
    tuned = Predictor.load(run.ref, runs_dir=tmp_path / "runs").predict(4, seed=0).images
    before = sample(load_generator("bundled:dcgan_faces")[0], 4, 0)
    assert tuned.shape == (4, 64, 64, 3) and not np.array_equal(before, tuned)
