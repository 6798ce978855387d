"""A fine-tune killed anywhere, even inside a checkpoint write, resumes into the run it replaces.

The tiny image classifier fine-tunes (head, then top blocks) once without interruption; the
other runs are killed or interrupted and resumed, and must end with the same history and
accuracy.
"""

import os
import signal

import keras
import numpy as np
import pytest

from apps.image_classify import train as train_module
from apps.image_classify.config import FinetuneConfig
from apps.image_classify.data import synthetic_shapes, write_image_folder
from shared import resumable, runs
from shared.lifecycle import run_training
from shared.resumable import epoch_shuffled
from shared.training import TrainingPlan, train_phase
from tests.resume_faults import kill_inside_backup_write

APP = "image_classify"


@pytest.fixture(scope="module")
def shapes_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "shapes"
    return write_image_folder(synthetic_shapes(num_per_class=5, image_size=32), folder)


def _settings(shapes_folder, preset, runs_dir):
    return dict(
        data=str(shapes_folder),
        model=str(preset),
        runs_dir=str(runs_dir),
        mode="fine_tune",
        head_epochs=2,
        epochs=3,
        patience=5,
    )


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, shapes_folder, tiny_classifier_preset):
    settings = _settings(shapes_folder, tiny_classifier_preset, tmp_path_factory.mktemp("runs"))
    return run_training(APP, FinetuneConfig.tiny(**settings), train_module, verbose=0)


def _assert_same_run(resumed, reference):
    assert resumed.state == "complete"
    assert list(resumed.history) == ["head", "fine_tune"]
    for phase, history in reference.history.items():
        assert sorted(resumed.history[phase]) == sorted(history)
        for key, values in history.items():
            np.testing.assert_allclose(resumed.history[phase][key], values, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        resumed.metrics["accuracy"], reference.metrics["accuracy"], rtol=1e-6
    )


def test_a_kill_inside_the_backup_write_resumes_into_the_same_run(
    uninterrupted, shapes_folder, tiny_classifier_preset, tmp_path
):
    settings = _settings(shapes_folder, tiny_classifier_preset, tmp_path)
    child = kill_inside_backup_write(APP, settings, backup="backup/fine_tune")
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    (run,) = runs.list_runs(APP, runs_dir=tmp_path)
    assert run.state == "interrupted"

    resumed = run_training(APP, FinetuneConfig.tiny(**settings), train_module, run=run, verbose=0)

    _assert_same_run(resumed, uninterrupted)
    assert not run.artifact("backup/fine_tune").exists()
    csv_rows = run.artifact("history_fine_tune.csv").read_text().splitlines()
    assert len(csv_rows) == 1 + 3  # header and one row per epoch: no epoch twice


class StopAtEpoch(keras.callbacks.Callback):
    """Raises KeyboardInterrupt as the ``count``-th epoch of the run (all phases) begins."""

    def __init__(self, count):
        super().__init__()
        self.count, self.seen = count, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.seen += 1
        if self.seen == self.count:
            raise KeyboardInterrupt


def _interrupt_in_fine_tune(settings, epoch):
    """A run of ``settings`` stopped at the start of fine_tune epoch ``epoch``."""
    config = FinetuneConfig.tiny(**settings)
    stop = StopAtEpoch(settings["head_epochs"] + epoch + 1)
    with pytest.raises(KeyboardInterrupt):
        run_training(APP, config, train_module, callbacks=[stop], verbose=0)
    (run,) = runs.list_runs(APP, runs_dir=settings["runs_dir"])
    return config, run


def test_a_damaged_newest_backup_falls_back_to_the_one_before(
    uninterrupted, shapes_folder, tiny_classifier_preset, tmp_path, caplog
):
    settings = _settings(shapes_folder, tiny_classifier_preset, tmp_path)
    config, run = _interrupt_in_fine_tune(settings, epoch=2)
    newest = run.artifact("backup/fine_tune/epoch-00002.weights.h5")
    os.truncate(newest, 20_976)  # what an in-place write cut short leaves behind

    resumed = run_training(APP, config, train_module, run=run, verbose=0)

    _assert_same_run(resumed, uninterrupted)
    assert "skipping damaged backup epoch-00002.json" in caplog.text


def test_no_whole_backup_restarts_the_phase(
    uninterrupted, shapes_folder, tiny_classifier_preset, tmp_path, caplog
):
    settings = _settings(shapes_folder, tiny_classifier_preset, tmp_path)
    config, run = _interrupt_in_fine_tune(settings, epoch=2)
    for path in run.artifact("backup/fine_tune").glob("*.weights.h5"):
        os.truncate(path, 100)

    resumed = run_training(APP, config, train_module, run=run, verbose=0)

    _assert_same_run(resumed, uninterrupted)
    assert "the phase starts again" in caplog.text


class EpochCurve(keras.callbacks.Callback):
    """A callback with state of its own (like translate's BLEU curve)."""

    def __init__(self):
        super().__init__()
        self.curve = []

    def on_epoch_end(self, epoch, logs=None):
        self.curve.append(epoch + 1)

    def resumable_state(self):
        return list(self.curve)

    def restore_state(self, curve):
        self.curve[:] = curve


def _small_phase(run, callbacks, epochs=4, patience=10, learning_rate=1e-2):
    """A dropout MLP trained by ``train_phase`` on fixed random data; (model, history)."""
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(0)
    inputs, labels = rng.normal(size=(40, 6)).astype("float32"), rng.integers(0, 3, 40)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(3),
        ]
    )
    plan = TrainingPlan(mode="scratch", epochs=epochs, patience=patience, seed=5)
    train = epoch_shuffled((inputs, labels), seed=5).batch(8)
    val = epoch_shuffled((rng.normal(size=(8, 6)).astype("float32"), labels[:8]), 6).batch(8)
    history = train_phase(
        model, train, val, plan, run, "small", 1e-2, callbacks=callbacks, verbose=0
    )
    return model, history


def test_a_resumed_phase_keeps_its_history_and_callback_state(tmp_path):
    reference_run = runs.new_run("resume_test", {}, runs_dir=tmp_path / "a")
    reference_curve = EpochCurve()
    reference_model, reference = _small_phase(reference_run, [reference_curve])

    run = runs.new_run("resume_test", {}, runs_dir=tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        _small_phase(run, [EpochCurve(), StopAtEpoch(3)])
    curve = EpochCurve()
    model, history = _small_phase(run, [curve])

    assert len(history["loss"]) == 4 and curve.curve == reference_curve.curve == [1, 2, 3, 4]
    for key, values in reference.items():
        np.testing.assert_allclose(history[key], values, rtol=1e-5)
    for value, expected in zip(model.get_weights(), reference_model.get_weights()):
        np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)
    assert run.artifact("history_small.csv").read_text().count("\n") == 1 + 4


def test_a_kill_after_an_early_stop_keeps_the_stop_and_the_best_weights(tmp_path, monkeypatch):
    early = dict(epochs=8, patience=1, learning_rate=0.5)
    reference_run = runs.new_run("resume_test", {}, runs_dir=tmp_path / "a")
    reference_model, reference = _small_phase(reference_run, [], **early)
    assert len(reference["loss"]) < 8  # it did stop early

    run = runs.new_run("resume_test", {}, runs_dir=tmp_path / "b")
    original = resumable.atomic_save_weights

    def killed_before_the_phase_is_saved(model, path):
        if "phases" in str(path):
            raise KeyboardInterrupt
        original(model, path)

    monkeypatch.setattr(resumable, "atomic_save_weights", killed_before_the_phase_is_saved)
    with pytest.raises(KeyboardInterrupt):
        _small_phase(run, [], **early)
    monkeypatch.setattr(resumable, "atomic_save_weights", original)
    model, history = _small_phase(run, [], **early)

    assert history == reference
    for value, expected in zip(model.get_weights(), reference_model.get_weights()):
        np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)
