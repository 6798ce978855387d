"""An interrupted Projected GAN run resumes from its last checkpoint, even one killed inside
its backup write."""

import signal

import keras
import numpy as np
import pytest
from PIL import Image

from apps.gan import finetune, train
from apps.gan.config import FinetuneConfig
from apps.gan.data import synthetic_blobs
from apps.gan.model import build_gan
from shared.lifecycle import run_training
from shared.runs import list_runs
from tests.resume_faults import kill_inside_backup_write


class StopAfterFirstCheckpoint(keras.callbacks.Callback):
    """Ends training with an error after the first epoch's checkpoint, as a kill would: it
    runs after the run's own callbacks, BackupAndRestore included."""

    def on_epoch_end(self, epoch, logs=None):
        raise RuntimeError("killed after the first checkpoint")


@pytest.fixture(scope="module")
def blobs_folder(tmp_path_factory):
    """Two batches of the tiny config's 8 synthetic-blob PNG files."""
    folder = tmp_path_factory.mktemp("resume_blobs")
    for index, image in enumerate(synthetic_blobs(16, 16, seed=0)):
        pixels = np.round((image + 1) * 127.5).astype("uint8")
        Image.fromarray(pixels).save(folder / f"blob_{index:02d}.png")
    return folder


def _history_epochs(run):
    lines = run.artifact("history.csv").read_text().splitlines()[1:]
    return [int(line.split(",")[0]) for line in lines]


def test_an_interrupted_projected_run_resumes_from_its_checkpoint(blobs_folder, tmp_path):
    config = FinetuneConfig.tiny(data=str(blobs_folder), runs_dir=str(tmp_path), epochs=2)
    with pytest.raises(RuntimeError, match="killed"):
        run_training("gan", config, train, callbacks=[StopAfterFirstCheckpoint()], verbose=0)
    (run,) = list_runs("gan", runs_dir=tmp_path)
    assert run.state == "failed" and (run.artifact("backup") / "epoch-00001.json").is_file()

    assert finetune.main(["--resume", run.ref, "--runs-dir", str(tmp_path)]) == 0
    assert run.state == "complete" and run.model_path.is_file()
    assert len(run.history["gan"]["d_loss"]) == 2  # the epoch before the resume, and the second
    assert _history_epochs(run) == [0, 1]
    assert [row["epoch"] for row in run.metrics["curve"]] == [1, 2]
    assert not run.artifact("backup").exists()  # removed once training ends


def test_a_kill_inside_the_backup_write_resumes_from_the_backup_before(blobs_folder, tmp_path):
    settings = dict(data=str(blobs_folder), runs_dir=str(tmp_path), epochs=3)
    child = kill_inside_backup_write("gan", settings)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    (run,) = list_runs("gan", runs_dir=tmp_path)
    assert run.state == "interrupted"

    assert finetune.main(["--resume", run.ref, "--runs-dir", str(tmp_path)]) == 0
    assert run.state == "complete" and run.model_path.is_file()
    history = run.history["gan"]
    assert len(history["d_loss"]) == len(history["g_loss"]) == 3
    assert np.isfinite(history["d_loss"] + history["g_loss"]).all()
    assert _history_epochs(run) == [0, 1, 2]  # the killed epoch trained again, logged once
    assert [row["epoch"] for row in run.metrics["curve"]] == [1, 2, 3]
    assert not run.artifact("backup").exists()


def test_a_projected_gan_checkpoint_restores_its_weights_and_optimizer_state(tmp_path):
    config = FinetuneConfig.tiny(data="unused")
    gan, fresh = build_gan(config), build_gan(config)
    for optimizer, network in (
        (gan.d_optimizer, gan.discriminator),
        (gan.g_optimizer, gan.generator),
    ):
        # Built before fit(): its iterations, learning rate, and Adam's two moments per weight.
        assert len(optimizer.variables) == 2 + 2 * len(network.trainable_weights)
    optimizer_variables = gan.d_optimizer.variables + gan.g_optimizer.variables
    rng = np.random.default_rng(0)
    for variable in optimizer_variables:  # as after some steps: non-zero Adam moments
        variable.assign(rng.uniform(1, 2, variable.shape).astype(variable.dtype))
    path = tmp_path / "gan.weights.h5"
    gan.save_weights(path)
    fresh.load_weights(path)
    spectral = [weight for weight in gan.discriminator.weights if "vector_u" in weight.path]
    assert len(spectral) == 8  # features: 1 DownBlock, 4 logit convs; pixels: 3 convs
    before = gan.weights + optimizer_variables
    after = fresh.weights + fresh.d_optimizer.variables + fresh.g_optimizer.variables
    assert len(before) == len(after)
    for saved, loaded in zip(before, after):
        np.testing.assert_array_equal(np.asarray(saved), np.asarray(loaded))
