"""Keyword heads on the Whisper encoder on JAX without TensorFlow: one fine-tune alone, and
the same data-parallel in two worker processes over loopback."""

import json
import sys

import pytest

from tests.jax.workers import figures, launch

pytestmark = pytest.mark.jax
TIMEOUT_S = 300
CLASS_NAMES = ["chirp", "high", "low"]  # the folder names, sorted


@pytest.fixture(scope="module")
def tones_folder(tmp_path_factory):
    """Eight one-second WAV clips of each of three tone classes, one folder per class."""
    from apps.speech.data import synthetic_tones, write_clip_folder

    tones = synthetic_tones(num_per_class=8, seconds=1.0, seed=2)
    return write_clip_folder(tones, tmp_path_factory.mktemp("tones"))


@pytest.fixture(scope="module")
def tiny_whisper_backbone(tmp_path_factory):
    """A converted-preset directory of a random 1-layer Whisper backbone: the encoder is all
    a keyword head needs, so it has no tokenizer."""
    import keras
    import keras_hub

    from apps.speech.tokenizer import METADATA_FILE

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.WhisperBackbone(
        vocabulary_size=64,
        num_layers=1,
        num_heads=2,
        hidden_dim=64,
        intermediate_dim=128,
        num_mels=80,
        max_encoder_sequence_length=3000,
        max_decoder_sequence_length=16,
    )
    preset_dir = tmp_path_factory.mktemp("tiny_whisper_backbone")
    backbone.save_to_preset(str(preset_dir))
    metadata = {"architecture": "whisper", "num_mels": 80, "sample_rate": 16000}
    (preset_dir / METADATA_FILE).write_text(json.dumps(metadata))
    return preset_dir


def _finetune(folder, preset, runs_dir, *, processes=1):
    """Run the speech finetune command in ``processes`` processes; (outputs, seconds, the run)."""
    argv = [
        *(sys.executable, "-m", "apps.speech.finetune", "--data", str(folder)),
        *("--model", str(preset), "--mode", "feature_extract", "--epochs", "12"),
        *("--batch-size", "4", "--learning-rate", "0.03", "--patience", "20", "--seed", "5"),
        *("--clip-seconds", "1", "--validation-split", "0.33"),
        *("--no-tensorboard", "--runs-dir", str(runs_dir)),
    ]
    outputs, seconds = launch(argv, processes=processes, timeout_s=TIMEOUT_S)
    from shared import runs

    (run,) = runs.list_runs("speech", runs_dir=runs_dir)
    return outputs, seconds, run


def test_two_worker_processes_split_the_keyword_steps_and_match_one_process(
    tones_folder, tiny_whisper_backbone, tmp_path
):
    alone = _finetune(tones_folder, tiny_whisper_backbone, tmp_path / "alone")
    outputs, seconds, run = _finetune(
        tones_folder, tiny_whisper_backbone, tmp_path / "two", processes=2
    )
    one = figures("1 process", *alone)
    two = figures("2 processes", outputs, seconds, run)
    (alone_steps,) = one["steps_per_epoch_per_process"]
    assert alone_steps == 4  # 16 training clips, 4 per step
    assert two["steps_per_epoch_per_process"] == [alone_steps // 2] * 2
    assert one["accuracy"] >= 0.8  # easy tones: the comparison below means something
    assert abs(two["accuracy"] - one["accuracy"]) <= 0.01 + 1e-9
    assert "process 0 writes the run" in outputs[1]
    assert run.status["device"].endswith("2 process(es), 2 device(s)")
    assert run.metrics["task"] == "classify" and run.metrics["split"] == "validation"
    assert run.labels == CLASS_NAMES
    assert (run.path / "model.keras").is_file()
