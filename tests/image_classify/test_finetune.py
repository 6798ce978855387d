"""End-to-end tests of the fine-tune CLI on a tiny preset and a synthetic folder dataset."""

import json

import keras
import numpy as np
import pytest

from apps.image_classify import evaluate
from apps.image_classify import finetune as finetune_module
from apps.image_classify import train as train_module
from apps.image_classify.config import FinetuneConfig
from apps.image_classify.data import load_folder, synthetic_shapes, write_image_folder
from apps.image_classify.predictor import Predictor
from shared import runs
from shared.lifecycle import run_training

APP = "image_classify"
MODES = ("feature_extract", "fine_tune", "scratch")
CLASS_NAMES = ["circle", "square", "stripes"]  # the folder names, sorted
PHASES = {"feature_extract": ["head"], "fine_tune": ["head", "fine_tune"], "scratch": ["scratch"]}


@pytest.fixture(scope="module")
def shapes_folder(tmp_path_factory):
    """5 images per class: 12 train and 3 validation images after the stratified split."""
    folder = tmp_path_factory.mktemp("data") / "shapes"
    return write_image_folder(synthetic_shapes(num_per_class=5, image_size=32), folder)


def _argv(folder, model, runs_dir, *extra):
    return [
        "--data",
        str(folder),
        "--model",
        str(model),
        "--epochs",
        "1",
        "--head-epochs",
        "1",
        "--batch-size",
        "4",
        "--image-size",
        "32",
        "--no-tensorboard",
        "--runs-dir",
        str(runs_dir),
        *extra,
    ]


def _run_cli(argv):
    """``finetune.main(argv)`` → (exit code, the in-memory task it saved, or None)."""
    original_finish, tasks = train_module._finish, []

    def spy(run, task, *args):
        tasks.append(task)
        return original_finish(run, task, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train_module, "_finish", spy)
        code = finetune_module.main(argv)
    return code, (tasks[0] if tasks else None)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shapes_folder, tiny_classifier_preset):
    """One CLI run per mode: {mode: (exit code, run, runs dir, the in-memory trained task)}.

    The feature_extract run also reads a config file (whose mode and epochs the flags
    override) that asks for a SavedModel export.
    """
    config_file = tmp_path_factory.mktemp("config") / "settings.yaml"
    config_file.write_text(
        "mode: scratch\nepochs: 4\nlearning_rate: 5.0e-3\nseed: 7\nexport: [saved_model]\n"
    )
    extras = {"feature_extract": ["--config", str(config_file)], "fine_tune": [], "scratch": []}
    results = {}
    for mode in MODES:
        runs_dir = tmp_path_factory.mktemp(f"runs-{mode}")
        argv = _argv(shapes_folder, tiny_classifier_preset, runs_dir, *extras[mode])
        code, task = _run_cli([*argv, "--mode", mode])
        (run,) = runs.list_runs(APP, runs_dir=runs_dir)
        results[mode] = (code, run, runs_dir, task)
    return results


@pytest.mark.parametrize("mode", MODES)
def test_cli_trains_a_complete_run(trained, mode):
    code, run, runs_dir, _ = trained[mode]
    assert code == 0
    assert runs.list_runs(APP, runs_dir=runs_dir, include_incomplete=False) == [run]
    assert run.state == "complete" and run.config["mode"] == mode
    assert (run.path / "model").is_dir() and run.model_path == run.path / "model"
    assert run.labels == CLASS_NAMES
    metrics = run.metrics
    assert 0.0 <= metrics["accuracy"] <= 1.0 and metrics["num_examples"] == 3
    assert sorted(metrics["per_class"]) == CLASS_NAMES
    assert all(metrics["per_class"][name]["support"] == 1 for name in CLASS_NAMES)
    matrix = np.array(metrics["confusion_matrix"])
    assert matrix.shape == (3, 3) and matrix.sum() == 3
    assert np.trace(matrix) / 3 == pytest.approx(metrics["accuracy"])
    assert run.artifact("confusion.png").stat().st_size > 0
    assert run.artifact("history.png").stat().st_size > 0
    assert list(run.history) == PHASES[mode]


@pytest.mark.parametrize("mode", MODES)
def test_run_history_keeps_the_per_epoch_values(trained, mode):
    history = trained[mode][1].history
    assert list(history) == PHASES[mode]
    for phase in history.values():
        assert len(phase["loss"]) == 1 and np.isfinite(phase["loss"] + phase["val_loss"]).all()


@pytest.mark.parametrize("mode", MODES)
def test_reloaded_run_predicts_like_the_trained_model(trained, shapes_folder, mode):
    _, run, runs_dir, task = trained[mode]
    images = load_folder(shapes_folder, 32).images[::2]
    expected = np.asarray(task.predict(images.astype("float32"), verbose=0))
    predictor = Predictor.load(run.ref, runs_dir=runs_dir)
    assert predictor.labels == CLASS_NAMES and predictor.image_size == (32, 32)
    np.testing.assert_allclose(predictor.logits(list(images)), expected, rtol=1e-4, atol=1e-5)
    top_labels = [result.predictions[0].label for result in predictor.predict(list(images))]
    assert top_labels == [CLASS_NAMES[index] for index in expected.argmax(axis=-1)]


def test_config_file_sets_values_and_flags_override_it(trained):
    config = trained["feature_extract"][1].config
    assert config["mode"] == "feature_extract" and config["epochs"] == 1  # flags win
    assert config["learning_rate"] == 5e-3 and config["seed"] == 7  # from the file
    assert config["export"] == ["saved_model"] and config["batch_size"] == 4
    assert FinetuneConfig(**{**config, "export": tuple(config["export"])}).validate() is None


def test_export_saved_model_serves_the_trained_model(trained, shapes_folder):
    import tensorflow as tf

    _, run, _, task = trained["feature_extract"]
    directory = run.artifact("export/saved_model")
    assert (directory / "saved_model.pb").is_file()
    assert not run.artifact("export/model.tflite").exists()
    images = load_folder(shapes_folder, 32).images[:4].astype("float32")
    reloaded = tf.saved_model.load(str(directory))  # keep a reference: it owns the variables
    served = reloaded.serve(tf.constant(images)).numpy()  # raw pixels: scaling is inside
    expected = np.asarray(task.predict(images, verbose=0))
    np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-5)


def test_evaluate_cli_prints_a_json_report(trained, shapes_folder, capsys):
    _, run, runs_dir, task = trained["fine_tune"]
    capsys.readouterr()
    argv = ["--model", run.ref, "--data", str(shapes_folder), "--json", "--runs-dir"]
    assert evaluate.main([*argv, str(runs_dir)]) == 0
    report = json.loads(capsys.readouterr().out)
    data = load_folder(shapes_folder, 32)
    predicted = np.asarray(task.predict(np.asarray(data.images, "float32"), verbose=0)).argmax(-1)
    assert report["model"] == run.ref and report["num_examples"] == 15
    assert report["accuracy"] == pytest.approx(np.mean(predicted == data.labels))
    assert np.array(report["confusion_matrix"]).sum() == 15


def test_help_exits_zero_and_lists_the_modes(capsys):
    with pytest.raises(SystemExit) as exit_info:
        finetune_module.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--mode" in out and "fine_tune" in out and "--config" in out


def test_bad_dataset_is_an_error_and_creates_no_run(
    tmp_path, runs_dir, tiny_classifier_preset, capsys
):
    folder = write_image_folder(synthetic_shapes(num_per_class=2, image_size=32), tmp_path / "d")
    for name in ("circle", "stripes"):
        for path in (folder / name).iterdir():
            path.unlink()
        (folder / name).rmdir()
    capsys.readouterr()
    code = finetune_module.main(_argv(folder, tiny_classifier_preset, runs_dir))
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error:") and "at least 2 class sub-folders" in err
    assert runs.list_runs(runs_dir=runs_dir) == []
    assert finetune_module.main(["--runs-dir", str(runs_dir)]) == 2
    assert "--data is required" in capsys.readouterr().err
    assert list(runs_dir.iterdir()) == []


class InterruptDuringFirstEpoch(keras.callbacks.Callback):
    """Behaves like Ctrl-C pressed after the first training batch."""

    def on_train_batch_end(self, batch, logs=None):
        if batch == 0:
            raise KeyboardInterrupt


def test_a_killed_run_is_never_complete_and_resumes(
    shapes_folder, tiny_classifier_preset, runs_dir
):
    config = FinetuneConfig.tiny(
        data=str(shapes_folder),
        model=str(tiny_classifier_preset),
        runs_dir=str(runs_dir),
        tensorboard=False,
    )
    with pytest.raises(KeyboardInterrupt):
        run_training(APP, config, train_module, callbacks=[InterruptDuringFirstEpoch()], verbose=0)
    (run,) = runs.list_runs(APP, runs_dir=runs_dir)
    assert run.state == "cancelled"
    assert runs.list_runs(APP, runs_dir=runs_dir, include_incomplete=False) == []
    assert run.metrics == {} and not (run.path / "model").exists()
    with pytest.raises(ValueError, match="cancelled"):
        Predictor.load(run.ref, runs_dir=runs_dir)

    resumed = run_training(APP, config, train_module, run=run, verbose=0)
    assert resumed.path == run.path and resumed.state == "complete"
    assert runs.list_runs(APP, runs_dir=runs_dir, include_incomplete=False) == [run]
    assert list(run.history) == ["head"] and run.labels == CLASS_NAMES
    assert len(runs.read_json(run.artifact("phases/head.history.json"))["loss"]) == 1
    assert Predictor.load(run.ref, runs_dir=runs_dir).labels == CLASS_NAMES
