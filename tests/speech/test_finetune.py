"""Speech fine-tunes on a tiny random Whisper: keyword heads on clip folders, decoder
fine-tuning on a transcript manifest, and the CLI's errors."""

import numpy as np
import pytest

from apps.speech import finetune as finetune_module
from apps.speech import train
from apps.speech.config import FinetuneConfig
from apps.speech.data import synthetic_tones, write_clip_folder
from apps.speech.predictor import Predictor
from shared import runs
from shared.audio import encode_wav
from shared.lifecycle import run_training

APP = "speech"
CLASS_NAMES = ["chirp", "high", "low"]  # the folder names, sorted
TEXTS = ["ten of clubs", "four queen of clubs", "seven of hearts", "five five"]


@pytest.fixture(scope="module")
def tones_folder(tmp_path_factory):
    """Four one-second WAV clips of each of three tone classes, one folder per class."""
    tones = synthetic_tones(num_per_class=4, seconds=1.0)
    return write_clip_folder(tones, tmp_path_factory.mktemp("tones"))


@pytest.fixture(scope="module")
def noise_manifest(tmp_path_factory):
    """A TSV manifest of four one-second noise clips with short card texts."""
    root = tmp_path_factory.mktemp("manifest")
    rng = np.random.default_rng(1)
    (root / "clips").mkdir()
    lines = ["path\ttext"]
    for index, text in enumerate(TEXTS):
        clip = (0.1 * rng.normal(size=16000)).astype("float32")
        (root / "clips" / f"{index}.wav").write_bytes(encode_wav(clip))
        lines.append(f"clips/{index}.wav\t{text}")
    manifest = root / "train.tsv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def _config(data, model, runs_dir, **overrides):
    return FinetuneConfig.tiny(
        data=str(data), model=str(model), runs_dir=str(runs_dir), tensorboard=False, **overrides
    )


@pytest.fixture(scope="module")
def keyword_runs(tones_folder, tiny_whisper_preset, tmp_path_factory):
    """``{mode: (complete run, its runs dir)}`` of a keyword head in each mode."""
    trained = {}
    for mode in ("feature_extract", "fine_tune"):
        runs_dir = tmp_path_factory.mktemp(f"runs_{mode}")
        config = _config(tones_folder, tiny_whisper_preset, runs_dir, mode=mode)
        trained[mode] = run_training(APP, config, train, verbose=0), runs_dir
    return trained


@pytest.mark.parametrize("mode", ["feature_extract", "fine_tune"])
def test_keyword_head_trains_saves_and_reloads(mode, keyword_runs):
    run, runs_dir = keyword_runs[mode]
    assert run.state == "complete"
    assert run.metrics["task"] == run.status["task"] == "classify"
    assert 0.0 <= run.metrics["accuracy"] <= 1.0
    assert (run.path / "model.keras").is_file()
    assert run.labels == CLASS_NAMES
    assert set(run.history) == ({"head"} if mode == "feature_extract" else {"head", "fine_tune"})

    clip = synthetic_tones(num_per_class=1, seconds=1.0, seed=5).clips[2]
    first = Predictor.load(run.ref, runs_dir=runs_dir).predict(clip)
    assert len(first.labels) == 3
    assert sum(entry["score"] for entry in first.labels) == pytest.approx(1.0, abs=1e-5)
    assert first.text in CLASS_NAMES
    assert first.text == first.labels[0]["label"]
    assert first.model == run.ref
    second = Predictor.load(run.ref, runs_dir=runs_dir).predict(clip)
    assert second.labels == first.labels


def _changed_encoder_layers(run, runs_dir, base_preset):
    """Names of the encoder layers whose weights differ between the run and the base."""
    import keras_hub

    from apps.speech.model import load_transcriber

    base = keras_hub.models.WhisperBackbone.from_preset(str(base_preset))
    encoder = load_transcriber(run.ref, runs_dir=runs_dir).model.get_layer("whisper_encoder")
    return [
        layer.name
        for layer in encoder.layers
        if any(
            not np.array_equal(np.asarray(ours), np.asarray(theirs))
            for ours, theirs in zip(layer.weights, base.get_layer(layer.name).weights)
        )
    ]


def test_feature_extraction_keeps_the_encoder(keyword_runs, tiny_whisper_preset):
    assert _changed_encoder_layers(*keyword_runs["feature_extract"], tiny_whisper_preset) == []


def test_fine_tune_trains_the_top_encoder_block(keyword_runs, tiny_whisper_preset):
    changed = _changed_encoder_layers(*keyword_runs["fine_tune"], tiny_whisper_preset)
    assert "transformer_encoder_layer_0" in changed, changed
    assert "encoder_token_embedding_conv_layer_1" not in changed


def _backbone_weights(preset_dir):
    import keras_hub

    backbone = keras_hub.models.WhisperBackbone.from_preset(str(preset_dir))
    return {weight.path: np.asarray(weight) for weight in backbone.weights}


def test_decoder_fine_tune_on_a_manifest(noise_manifest, tiny_whisper_preset, runs_dir):
    config = _config(noise_manifest, tiny_whisper_preset, runs_dir, fine_tune_learning_rate=1e-3)
    assert config.task == "transcribe"
    run = run_training(APP, config, train, verbose=0)
    assert run.state == "complete"
    metrics = run.metrics
    assert metrics["task"] == run.status["task"] == "transcribe"
    assert isinstance(metrics["wer_before"], float) and isinstance(metrics["wer_after"], float)
    assert (metrics["num_clips"], metrics["num_held_out"]) == (4, 1)
    assert run.model_path == run.path / "model"
    reloaded = Predictor.load(run.ref, runs_dir=runs_dir).predict(np.zeros(16000, "float32"))
    assert reloaded.model == run.ref

    before, after = _backbone_weights(tiny_whisper_preset), _backbone_weights(run.model_path)
    assert before.keys() == after.keys()
    changed = {path for path in before if not np.array_equal(before[path], after[path])}
    assert changed, "no weight changed"
    assert all(path.startswith(("transformer_decoder", "decoder")) for path in changed), changed
    assert any(path.startswith("transformer_decoder_layer_0/") for path in changed)
    token_embedding = "decoder_token_and_position_embedding/token_embedding/embeddings"
    assert token_embedding not in changed  # tied to the output layer, kept frozen


def test_bad_manifest_lists_the_lines_and_creates_no_run(
    tmp_path, tiny_whisper_preset, runs_dir, capsys
):
    (tmp_path / "good.wav").write_bytes(encode_wav(np.zeros(1600, "float32")))
    manifest = tmp_path / "bad.csv"
    manifest.write_text("file,sentence\ngood.wav,ten of clubs\nmissing.wav,five\ngood.wav,\n")
    argv = ["--data", str(manifest), "--model", str(tiny_whisper_preset)]
    code = finetune_module.main(argv + ["--runs-dir", str(runs_dir), "--no-tensorboard"])
    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1
    assert "2 bad rows" in error
    assert "line 3:" in error and "missing.wav does not exist" in error
    assert "line 4: empty transcript" in error
    assert runs.list_runs(APP, runs_dir=runs_dir) == []


def test_help_exits_zero(capsys):
    with pytest.raises(SystemExit) as exit_info:
        finetune_module.main(["--help"])
    assert exit_info.value.code == 0
    assert "--data" in capsys.readouterr().out
