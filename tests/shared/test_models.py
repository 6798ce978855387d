"""Tests for shared.models: the one resolver of model references."""

import time
import zipfile
from pathlib import Path

import pytest

from apps import APPS
from shared import models, runs

CONVERT_CALLS = []


def fake_convert(target_dir):
    """A bundled converter that writes a marker file instead of real weights."""
    CONVERT_CALLS.append(target_dir)
    (target_dir / "marker.txt").write_text("converted")


def never_convert(target_dir):
    raise AssertionError("only listed, never converted")


FAKE_SPEC = models.ModelCatalog(
    name="fake_app",
    title="Fake app",
    default_model="bundled:tiny",
    bundled={"tiny": fake_convert, "other": never_convert},
    hub_presets=("efficientnet_b0_ra_imagenet",),
)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("TRANSFERZOO_CACHE", str(path))
    CONVERT_CALLS.clear()
    return path


def _complete_run(state="complete"):
    run = runs.new_run(FAKE_SPEC.name, {"epochs": 1})
    if state != "running":
        run.set_status(state)
    return run


def test_bundled_is_converted_once_then_reused(cache_dir):
    first = models.resolve_model_ref("bundled:tiny", FAKE_SPEC)
    second = models.resolve_model_ref(" bundled:tiny ", FAKE_SPEC)
    assert first.kind == second.kind == "bundled"
    assert first.location == second.location
    assert first.location.startswith(str(cache_dir))
    assert models.CONVERTER_VERSION in first.location
    assert (Path(first.location) / "marker.txt").read_text() == "converted"
    assert len(CONVERT_CALLS) == 1


def test_empty_reference_means_the_default_model(cache_dir):
    resolved = models.resolve_model_ref("", FAKE_SPEC)
    assert resolved.kind == "bundled" and resolved.ref == "bundled:tiny"
    assert models.resolve_model_ref(None, FAKE_SPEC).location == resolved.location


def test_unknown_bundled_name_lists_the_bundled_models(cache_dir):
    with pytest.raises(ValueError, match="bundled:tiny, bundled:other") as error:
        models.resolve_model_ref("bundled:huge", FAKE_SPEC)
    assert "'huge'" in str(error.value)
    assert CONVERT_CALLS == []


def test_preset_directory_and_keras_file(tmp_path):
    preset_dir = tmp_path / "my_preset"
    preset_dir.mkdir()
    keras_file = tmp_path / "model.keras"
    with zipfile.ZipFile(keras_file, "w") as archive:
        archive.writestr("config.json", "{}")
    for path in (preset_dir, keras_file):
        resolved = models.resolve_model_ref(str(path), FAKE_SPEC)
        assert (resolved.kind, resolved.location, resolved.run) == ("path", str(path), None)


def test_other_model_files_are_refused(tmp_path):
    weights = tmp_path / "model.h5"
    weights.write_bytes(b"")
    with pytest.raises(ValueError, match=r"\.keras"):
        models.resolve_model_ref(str(weights), FAKE_SPEC)


def test_complete_run_resolves_to_its_model(runs_dir):
    run = _complete_run()
    resolved = models.resolve_model_ref(run.ref, FAKE_SPEC)
    assert resolved.kind == "run"
    assert resolved.location == str(run.model_path)
    assert resolved.run.run_id == run.run_id
    explicit = models.resolve_model_ref(run.ref, FAKE_SPEC, runs_dir=runs_dir)
    assert explicit.location == resolved.location


@pytest.mark.parametrize("state", ["running", "failed", "cancelled"])
def test_incomplete_run_is_refused(runs_dir, state):
    run = _complete_run(state)
    with pytest.raises(ValueError, match=f"{state}, not complete"):
        models.resolve_model_ref(run.ref, FAKE_SPEC)


def test_unknown_run_is_refused(runs_dir):
    with pytest.raises(ValueError, match="no run"):
        models.resolve_model_ref("run:20990101-000000-abcdef", FAKE_SPEC)


@pytest.mark.parametrize("ref", ["efficientnet_b0_ra_imagenet", "kaggle://keras/resnet"])
def test_hub_preset_offline_names_the_offline_choices(runs_dir, monkeypatch, record_property, ref):
    def no_probe(*args, **kwargs):
        raise AssertionError("the environment says offline: the hub must not be probed")

    monkeypatch.setattr(models, "_hub_reachable", no_probe)
    run = _complete_run()
    start = time.perf_counter()
    with pytest.raises(models.OfflineError, match="bundled:tiny") as error:
        models.resolve_model_ref(ref, FAKE_SPEC)
    # Measured for the report (junit XML) only: no timed assert.
    record_property("offline_error_seconds", time.perf_counter() - start)
    assert isinstance(error.value, ValueError)
    assert "bundled:other" in str(error.value) and run.ref in str(error.value)


@pytest.mark.parametrize(
    ("environment", "reachable", "offline"),
    [
        ({"TRANSFERZOO_OFFLINE": "1"}, True, True),
        ({"HF_HUB_OFFLINE": "1"}, True, True),
        ({"TRANSFERZOO_OFFLINE": "0"}, True, False),
        ({"TRANSFERZOO_OFFLINE": "false"}, False, True),
    ],
)
def test_is_offline(monkeypatch, environment, reachable, offline):
    monkeypatch.delenv("TRANSFERZOO_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(models, "_hub_reachable", lambda: reachable)  # no real probe
    assert models.is_offline() is offline


def test_unknown_reference(tmp_path):
    with pytest.raises(ValueError, match="Unknown model reference") as error:
        models.resolve_model_ref(str(tmp_path / "no_such_model"), FAKE_SPEC)
    assert not isinstance(error.value, models.OfflineError)
    assert "bundled:<name> (tiny, other)" in str(error.value)


@pytest.mark.parametrize(
    ("app", "preset"), [(spec.name, name) for spec in APPS for name in spec.hub_presets]
)
def test_hub_presets_are_in_keras_hub_preset_table(app, preset):
    import keras_hub

    # keras-hub's built-in preset tables of the classes each app loads (read offline).
    tables = {
        "image_classify": [keras_hub.models.ImageClassifier],
        "speech": [keras_hub.models.WhisperBackbone, keras_hub.models.MoonshineAudioToText],
        "detection": [keras_hub.models.ImageObjectDetector],
        "translate": [keras_hub.models.T5Seq2SeqLM],
    }
    assert any(preset in cls.presets for cls in tables[app]), f"{app}: {preset}"
