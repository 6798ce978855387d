"""Data-parallel fine-tuning through Keras' distribution API on JAX: two worker processes
over loopback, and one process over two CPU devices, against one process alone."""

import sys

import numpy as np
import pytest

from tests.jax.workers import figures, launch

pytestmark = pytest.mark.jax
TIMEOUT_S = 400


@pytest.fixture(scope="module")
def easy_folder(tmp_path_factory):
    """Three classes told apart by their colour alone (red, green, blue, with noise): 20 per
    class, 48 training and 12 held-out images."""
    from apps.image_classify.data import ImageData, write_image_folder

    rng = np.random.default_rng(3)
    images, labels = [], []
    for label in range(3):
        for _ in range(20):
            image = rng.integers(0, 70, (32, 32, 3))
            image[..., label] += rng.integers(150, 185)
            images.append(image.astype(np.uint8))
            labels.append(label)
    data = ImageData(np.stack(images), np.asarray(labels, "int32"), ["red", "green", "blue"])
    return write_image_folder(data, tmp_path_factory.mktemp("data") / "easy")


def _finetune(folder, preset, runs_dir, *, processes=1, devices=1):
    """Run the finetune command in ``processes`` processes; (logs, seconds, the run)."""
    argv = [
        *(sys.executable, "-m", "apps.image_classify.finetune", "--data", str(folder)),
        *("--model", str(preset), "--mode", "feature_extract", "--epochs", "12"),
        *("--batch-size", "4", "--learning-rate", "0.01", "--patience", "20", "--seed", "5"),
        *("--image-size", "32", "--no-tensorboard", "--runs-dir", str(runs_dir)),
    ]
    logs, seconds = launch(argv, processes=processes, devices=devices, timeout_s=TIMEOUT_S)
    from shared import runs

    (run,) = runs.list_runs("image_classify", runs_dir=runs_dir)
    return logs, seconds, run


@pytest.fixture(scope="module")
def alone(easy_folder, tiny_preset_jax, tmp_path_factory):
    return _finetune(easy_folder, tiny_preset_jax, tmp_path_factory.mktemp("alone"))


def test_two_worker_processes_split_the_steps_and_match_one_process(
    alone, easy_folder, tiny_preset_jax, tmp_path
):
    logs, seconds, run = _finetune(easy_folder, tiny_preset_jax, tmp_path, processes=2)
    one = figures("1 process", *alone)
    two = figures("2 processes", logs, seconds, run)
    (alone_steps,) = one["steps_per_epoch_per_process"]
    assert two["steps_per_epoch_per_process"] == [alone_steps // 2] * 2
    assert one["accuracy"] >= 0.8  # easy data: the comparison below means something
    assert abs(two["accuracy"] - one["accuracy"]) <= 0.01 + 1e-9
    assert "process 0 writes the run" in logs[1]
    assert run.status["device"].endswith("2 process(es), 2 device(s)")


def test_one_process_over_two_devices_matches_one_device(
    alone, easy_folder, tiny_preset_jax, tmp_path
):
    logs, seconds, run = _finetune(easy_folder, tiny_preset_jax, tmp_path, devices=2)
    one = figures("1 process", *alone)
    two = figures("1 process, 2 devices", logs, seconds, run)
    assert two["steps_per_epoch_per_process"] == one["steps_per_epoch_per_process"]
    assert abs(two["accuracy"] - one["accuracy"]) <= 0.01 + 1e-9
    assert run.status["device"].endswith("1 process(es), 2 device(s)")
