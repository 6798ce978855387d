"""GAN training, runs, sampling and evaluation on tiny runs (one per architecture, shared)."""

import json
import math
from pathlib import Path

import keras
import numpy as np
import pytest

from apps.gan import evaluate, predict, train
from apps.gan.config import FinetuneConfig
from apps.gan.data import synthetic_blobs
from apps.gan.model import build_gan, generate, latent_vectors
from apps.gan.networks import DiffAugment, SpectralConv2D
from apps.gan.predictor import Predictor
from shared.lifecycle import run_training
from shared.runs import list_runs
from tests.gan.blobs import write_blob_folder

NUM_IMAGES = 16  # two batches of the tiny config's 8: a few steps per run


class WeightsRecorder(keras.callbacks.Callback):
    """Keeps the GAN's frozen feature weights and generator weights before and after fit."""

    def on_train_begin(self, logs=None):
        self.before = self._snapshot()

    def on_train_end(self, logs=None):
        self.after = self._snapshot()
        self.generator = self.model.generator

    def _snapshot(self):
        pyramid, frozen = self.model.feature_pyramid, []
        if pyramid is not None:  # the backbone, and the fixed random CCM / CSM projections
            mixing = [
                layer
                for layer in self.model.discriminator.layers
                if layer.name.startswith(("ccm_", "csm_"))
            ]
            frozen = pyramid.weights + [w for layer in mixing for w in layer.weights]
        return {
            "frozen": [np.array(w) for w in frozen],
            "generator": [np.array(w) for w in self.model.generator.trainable_weights],
        }


@pytest.fixture(scope="module")
def blobs_folder(tmp_path_factory):
    """A folder of synthetic-blob PNG files."""
    return write_blob_folder(tmp_path_factory.mktemp("blobs"), NUM_IMAGES)


@pytest.fixture(scope="module")
def gan_runs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("gan_runs")


def _train(architecture, blobs_folder, runs_dir):
    recorder = WeightsRecorder()
    config = FinetuneConfig.tiny(
        data=str(blobs_folder), architecture=architecture, runs_dir=str(runs_dir)
    )
    run = run_training("gan", config, train, callbacks=[recorder], verbose=0)
    return run, recorder


@pytest.fixture(scope="module")
def dcgan_run(blobs_folder, gan_runs_dir):
    return _train("dcgan", blobs_folder, gan_runs_dir)


@pytest.fixture(scope="module")
def projected_run(blobs_folder, gan_runs_dir):
    return _train("projected", blobs_folder, gan_runs_dir)


@pytest.fixture(params=["dcgan", "projected"])
def trained(request):
    """``(run, recorder)`` of each architecture."""
    return request.getfixturevalue(f"{request.param}_run")


def test_training_gives_finite_losses_and_moves_the_generator(trained):
    run, recorder = trained
    losses = run.history["gan"]
    assert set(losses) >= {"d_loss", "g_loss"}
    assert all(math.isfinite(value) for values in losses.values() for value in values)
    changed = [
        not np.array_equal(a, b)
        for a, b in zip(recorder.before["generator"], recorder.after["generator"])
    ]
    assert any(changed)


def test_projected_gan_keeps_the_backbone_and_projections_frozen(projected_run):
    _, recorder = projected_run
    assert len(recorder.before["frozen"]) > 10 + 16  # EfficientNet-Lite0, 4 CCM + 4 CSM convs
    for before, after in zip(recorder.before["frozen"], recorder.after["frozen"]):
        np.testing.assert_array_equal(before, after)


def test_projected_discriminator_passes_gradients_to_the_generator(blobs_folder):
    """Through DiffAugment, the resize and the frozen backbone (inference-mode BatchNorm),
    every feature scale's logits reach every generator weight: none of them is cut off."""
    import tensorflow as tf

    gan = build_gan(FinetuneConfig.tiny(data=str(blobs_folder), architecture="projected"))
    assert len(gan.feature_pyramid.outputs) == 4
    latent = tf.constant(latent_vectors(4, 0))
    weights = gan.generator.trainable_weights
    for scale in range(4):
        with tf.GradientTape() as tape:
            logits = gan._logits(gan.generator(latent, training=True), True)[scale]
            loss = -tf.reduce_mean(logits)
        gradients = tape.gradient(loss, weights)
        assert all(gradient is not None for gradient in gradients)
        assert all(float(tf.reduce_max(tf.abs(gradient))) > 0 for gradient in gradients)


def test_config_refuses_a_feature_size_below_the_deepest_stride():
    with pytest.raises(ValueError, match="feature_size must be >= 32, received 16"):
        FinetuneConfig.tiny(data="folder", feature_size=16).validate()


def test_reloaded_generator_gives_the_same_samples(trained, gan_runs_dir):
    run, recorder = trained
    first = Predictor.load(run.ref, runs_dir=gan_runs_dir).predict(4, seed=3)
    second = Predictor.load(run.ref, runs_dir=gan_runs_dir).predict(4, seed=3)
    assert first.images.shape == (4, 16, 16, 3) and first.images.dtype == np.uint8
    np.testing.assert_array_equal(first.images, second.images)
    in_memory = generate(recorder.generator, latent_vectors(4, 3))
    np.testing.assert_array_equal(first.images, in_memory)


def test_runs_list_complete_with_a_finite_fid_curve(dcgan_run, projected_run, gan_runs_dir):
    listed = {run.ref for run in list_runs("gan", runs_dir=gan_runs_dir, include_incomplete=False)}
    for run, _ in (dcgan_run, projected_run):
        assert run.ref in listed
        metrics = run.metrics
        assert metrics["curve"] and all(math.isfinite(row["fid"]) for row in metrics["curve"])
        assert {"epoch", "train_seconds", "kid", "kid_std"} <= set(metrics["curve"][-1])
        assert metrics["feature_network"] and metrics["fid_samples"] == 16
        assert sorted(run.artifact("samples").glob("epoch001_0000.png"))


def test_predict_cli_writes_the_files_it_reports(dcgan_run, gan_runs_dir, tmp_path, capsys):
    run, _ = dcgan_run
    argv = ["--model", run.ref, "--num-samples", "3", "--seed", "1", "--out", str(tmp_path)]
    argv += ["--json", "--runs-dir", str(gan_runs_dir)]
    assert predict.main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["num_samples"] == 3 and len(result["files"]) == 3
    assert all(Path(path).is_file() for path in result["files"])


def test_predict_cli_names_the_bundled_generators_for_another_model(tmp_path, capsys):
    argv = ["--model", "bundled:efficientnet_lite0", "--out", str(tmp_path)]
    assert predict.main(argv) == 2
    error = capsys.readouterr().err
    assert error.startswith("error:") and "bundled:dcgan_faces" in error
    assert len(error.strip().splitlines()) == 1


def test_diffaugment_keeps_the_shape_and_passes_gradients():
    import tensorflow as tf

    images = tf.Variable(synthetic_blobs(4, 16, seed=1))
    augment = DiffAugment(seed=0)
    with tf.GradientTape() as tape:
        augmented = augment(images)
        loss = tf.reduce_sum(augmented**2)
    gradient = tape.gradient(loss, images)
    assert tuple(augmented.shape) == (4, 16, 16, 3)
    assert gradient is not None and float(tf.reduce_sum(tf.abs(gradient))) > 0
    with pytest.raises(ValueError, match="policy"):
        DiffAugment(policy=("translation", "rotation"))


def test_spectral_conv_divides_the_kernel_by_its_largest_singular_value():
    images = np.random.default_rng(0).standard_normal((2, 8, 8, 4)).astype("float32")
    layer = SpectralConv2D(8, 3, padding="same")
    for _ in range(30):  # one power iteration per training call
        layer(images, training=True)
    kernel, bias = (np.asarray(weight) for weight in (layer.kernel, layer.bias))
    sigma = np.linalg.svd(kernel.reshape(-1, 8), compute_uv=False)[0]
    plain = keras.layers.Conv2D(8, 3, padding="same")
    plain.build(images.shape)
    plain.set_weights([kernel / sigma, bias])
    np.testing.assert_allclose(layer(images), plain(images), rtol=1e-3, atol=1e-4)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(clone, SpectralConv2D) and clone.get_config() == layer.get_config()


def test_evaluate_cli_prints_fid_and_kid(dcgan_run, blobs_folder, gan_runs_dir, capsys):
    run, _ = dcgan_run
    argv = ["--model", run.ref, "--data", str(blobs_folder), "--num-samples", "8", "--json"]
    assert evaluate.main(argv + ["--runs-dir", str(gan_runs_dir)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert math.isfinite(report["fid"]) and math.isfinite(report["kid"])
    assert report["num_real"] == report["num_fake"] == 8 and report["image_size"] == 16
    assert report["feature_network"].startswith("efficientnet_lite0")


def test_evaluate_cli_reports_bad_data_in_one_line(dcgan_run, gan_runs_dir, tmp_path, capsys):
    run, _ = dcgan_run
    argv = ["--model", run.ref, "--data", str(tmp_path / "missing"), "--runs-dir"]
    assert evaluate.main(argv + [str(gan_runs_dir)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error:") and "missing" in error
    with pytest.raises(ValueError, match="image_size 32"):
        evaluate.evaluate(run.ref, tmp_path, image_size=32, runs_dir=gan_runs_dir)
