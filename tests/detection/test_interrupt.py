"""An error or one Ctrl-C during a detector fine-tune ends the process (no hang at exit) and
marks the run failed or cancelled."""

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from apps.detection import centernet_fit, scenes
from apps.detection import train as train_lib
from apps.detection.config import FinetuneConfig
from shared.lifecycle import run_training
from shared.runs import list_runs
from tests.detection.tiny_backbone import save_tiny_backbone_preset

REPO_ROOT = Path(__file__).resolve().parents[2]
EXIT_SECONDS = 60  # a healthy exit takes a few seconds; a deadlocked one never comes
# Ctrl-C back to its default before the command runs (through exec): a test run started
# from a non-interactive shell with `&` ignores SIGINT, and its children would inherit that.
DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execvp(sys.argv[1], sys.argv[1:])"
)
# Trains with a callback that fails on the second batch of the first epoch, from inside a
# generator expression: Keras filters an error's traceback (``fit`` is left out of it, only
# its callers lead there) but not a KeyboardInterrupt's, and a generator's frame has no caller.
FAILING_RUN = """
import sys, keras
from apps.detection import train
from apps.detection.config import FinetuneConfig
from shared.lifecycle import run_training

def fail(kind):
    raise RuntimeError("failed on purpose") if kind == "error" else KeyboardInterrupt

class Failing(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 1:
            any(fail(kind) for _ in range(1))

data, model, runs_dir, kind = sys.argv[1:]
config = FinetuneConfig.tiny(data=data, model=model, runs_dir=runs_dir, epochs=5, batch_size=2)
run_training("detection", config, train, callbacks=[Failing()], verbose=0)
"""


@pytest.fixture(scope="module")
def tiny_backbone_preset(tmp_path_factory):
    """A keras-hub classifier preset of a random EfficientNet with P3-P5 (strides 8-32)."""
    return save_tiny_backbone_preset(tmp_path_factory.mktemp("tiny_detection_backbone"))


@pytest.fixture(scope="module")
def voc_folder(tmp_path_factory):
    """Eight scenes of 256 px: loading them takes longer than a tiny model's step, so the
    input pipeline is busy whenever training is interrupted."""
    data = scenes.make_scenes(8, image_size=256, seed=0)
    return scenes.write_voc(data, tmp_path_factory.mktemp("interrupt") / "voc")


def _only_run(runs_dir):
    [run] = list_runs("detection", runs_dir=runs_dir)
    return run


def _wait_for_mid_epoch(process, epoch=2):
    """Read the process' progress bars until the first step of ``epoch`` is done: training
    is under way and its input pipeline loading the next batches. Returns the output."""
    marker, output = f"Epoch {epoch}/".encode(), b""
    deadline = time.monotonic() + 4 * EXIT_SECONDS
    while time.monotonic() < deadline:
        if select.select([process.stdout], [], [], 1)[0]:
            chunk = os.read(process.stdout.fileno(), 1 << 16)
            if not chunk:  # the process ended
                break
            output += chunk
            if b"\x1b[1m1/" in output.partition(marker)[2]:  # Keras' bold "1/N" of that epoch
                return output
    pytest.fail(f"no step of epoch {epoch}:\n{output[-2000:].decode(errors='replace')}")


def _exit_output(process):
    """The process' output once it exits; fails the test if it is still running after
    ``EXIT_SECONDS``."""
    try:
        output, _ = process.communicate(timeout=EXIT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"still running {EXIT_SECONDS} s later:\n{output[-2000:].decode()}")
    return output.decode(errors="replace")


def test_one_ctrl_c_ends_the_finetune_cli(tiny_backbone_preset, voc_folder, tmp_path):
    argv = ["--data", str(voc_folder), "--model", str(tiny_backbone_preset), "--epochs", "1000"]
    argv += ["--image-size", "64", "--batch-size", "2", "--validation-split", "0.25"]
    argv += ["--map-every", "1000", "--patience", "1000"]
    argv += ["--runs-dir", str(tmp_path)]
    command = [sys.executable, "-c", DEFAULT_SIGINT, sys.executable, "-m"]
    process = subprocess.Popen(
        [*command, "apps.detection.finetune", *argv],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # progress bars as they are drawn
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    _wait_for_mid_epoch(process)
    process.send_signal(signal.SIGINT)
    output = _exit_output(process)
    assert process.returncode == 128 + signal.SIGINT, output[-2000:]
    assert _only_run(tmp_path).state == "cancelled", output[-2000:]
    assert "Traceback" not in output and output.rstrip().endswith("--resume continues it")


@pytest.mark.parametrize(
    "kind, returncodes, state",
    [("error", (1,), "failed"), ("interrupt", (-signal.SIGINT, 128 + signal.SIGINT), "cancelled")],
)
def test_a_failure_during_training_ends_the_process(
    tiny_backbone_preset, voc_folder, tmp_path, kind, returncodes, state
):
    arguments = [str(voc_folder), str(tiny_backbone_preset), str(tmp_path), kind]
    process = subprocess.Popen(
        [sys.executable, "-c", DEFAULT_SIGINT, sys.executable, "-c", FAILING_RUN, *arguments],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = _exit_output(process)
    assert process.returncode in returncodes, output[-2000:]
    assert _only_run(tmp_path).state == state, output[-2000:]


class FailingCallback(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        raise RuntimeError("failed on purpose")


def test_an_error_from_a_callback_propagates_and_fails_the_run(
    tiny_backbone_preset, voc_folder, tmp_path
):
    config = FinetuneConfig.tiny(
        data=str(voc_folder), model=str(tiny_backbone_preset), runs_dir=str(tmp_path)
    )
    with pytest.raises(RuntimeError, match="failed on purpose"):
        run_training("detection", config, train_lib, callbacks=[FailingCallback()], verbose=0)
    run = _only_run(tmp_path)
    assert run.state == "failed" and "failed on purpose" in run.status["message"]


def test_a_pipeline_stops_loading_once_its_block_ends():
    import tensorflow as tf

    samples = scenes.make_scenes(4, image_size=64, seed=1).samples
    config = FinetuneConfig.tiny(data="scenes", batch_size=2)
    with pytest.raises(KeyboardInterrupt):
        with centernet_fit.input_pipelines() as stop:
            dataset = centernet_fit.make_dataset(
                samples, 3, config, 1 / 127.5, -1.0, train=True, stop=stop
            )
            images, targets = next(iter(dataset))
            raise KeyboardInterrupt
    assert images.shape == (2, 64, 64, 3) and targets.shape == (2, 8, 8, 8)
    assert np.isfinite(np.asarray(images)).all()
    with pytest.raises(tf.errors.OpError, match="the input pipeline is closed"):
        next(iter(dataset))
