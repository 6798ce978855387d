"""Device choices: several GPUs on TensorFlow train on one and say how to use them all."""

import logging

import keras
import pytest

from shared import devices


@pytest.fixture
def restore_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_cpu_keeps_float32_without_xla():
    setup = devices.configure(allow_gpu=False)
    assert (setup.num_gpus, setup.mixed_precision, setup.jit_compile) == (0, False, False)
    assert setup.describe() == "CPU (float32, no XLA)"
    assert keras.mixed_precision.global_policy().name == "float32"


def test_several_gpus_on_tensorflow_use_one_and_point_to_jax(monkeypatch, caplog, restore_policy):
    monkeypatch.setattr(devices, "_count_gpus", lambda: 2)
    with caplog.at_level(logging.WARNING, logger="shared.devices"):
        setup = devices.configure()
    assert setup.describe() == "1 of 2 GPUs (mixed_float16, XLA on)"
    assert "KERAS_BACKEND=jax trains data-parallel" in caplog.text
    assert keras.distribution.distribution() is None
