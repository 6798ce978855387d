"""Model files a user points the product at: each hostile one ends in one ``error:`` line.

Every file is built here: a tiny genuine ``.keras`` model whose ``config.json`` is then
rewritten to name code (``os.system``, ``builtins.exec``, Keras' own non-modeling functions)
or to read a file outside the model, plus non-zip bytes, FIFOs and symlinks. The predict CLI
of image_classify runs in-process: it must exit non-zero with exactly one ``error:`` line on
stderr, naming the file and the reason, and no traceback.
"""

import json
import os
import zipfile

import numpy as np
import pytest

from apps.image_classify import SPEC
from apps.image_classify import predict as classify_predict
from shared import model_files, models, runs

FIFO = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


@pytest.fixture(scope="module")
def genuine_model(tmp_path_factory):
    """A real ``.keras`` file (Input(4) -> Dense(2)) to rewrite into hostile ones."""
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    path = tmp_path_factory.mktemp("genuine") / "genuine.keras"
    model.save(path)
    return path


@pytest.fixture
def image(tmp_path):
    from PIL import Image

    path = tmp_path / "image.png"
    Image.fromarray(np.zeros((32, 32, 3), "uint8")).save(path)
    return str(path)


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rewrite(genuine, target, edit=None, replace=None):
    """Copy the genuine archive to ``target``: ``edit(config)`` changes config.json in place,
    ``replace`` swaps members (None drops one)."""
    members = _members(genuine)
    if edit is not None:
        config = json.loads(members["config.json"])
        edit(config)
        members["config.json"] = json.dumps(config).encode()
    members.update(replace or {})
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            if data is not None:
                archive.writestr(name, data)
    return target


def _dense(config):
    return config["config"]["layers"][1]


def _activation(module, name):
    """Sets the Dense layer's activation to a serialized function ``module.name``."""
    reference = {"module": module, "class_name": "function", "config": name}

    def edit(config):
        _dense(config)["config"]["activation"] = {**reference, "registered_name": name}

    return edit


def _lookup_reading(path):
    """Replaces the Dense layer by a StringLookup whose vocabulary is the file ``path``."""

    def edit(config):
        layer = _dense(config)
        layer.update(module="keras.layers", class_name="StringLookup", name="lookup")
        layer["config"] = {"name": "lookup", "vocabulary": path, "output_mode": "int"}
        layer.pop("build_config", None)
        config["config"]["output_layers"] = ["lookup", 0, 0]

    return edit


def _lambda_layer(config):
    layer = _dense(config)
    function = {"class_name": "__lambda__", "config": {"code": "abc", "defaults": None}}
    layer.update(module="keras.layers", class_name="Lambda")
    layer["config"] = {"name": "dense", "function": function}


def _drop_units(config):
    del _dense(config)["config"]["units"]


def run_cli(image, model, capsys):
    """(exit status, the ``error:`` lines, all of stderr) of the predict CLI."""
    status = classify_predict.main([image, "--model", str(model)])
    err = capsys.readouterr().err
    return status, [line for line in err.splitlines() if line.startswith("error:")], err


def assert_one_error(image, model, capsys, *fragments):
    status, errors, err = run_cli(image, model, capsys)
    assert status != 0
    assert len(errors) == 1, err
    assert "Traceback" not in err
    for fragment in (model.name, *fragments):
        assert fragment in errors[0]
    return errors[0]


UNSAFE_CALLS = {
    "os_system": (_activation("os", "system"), "os.system"),
    "builtins_exec": (_activation("builtins", "exec"), "builtins.exec"),
    "get_file": (_activation("keras.utils", "get_file"), "keras.utils.get_file"),
    "unsafe_switch": (
        _activation("keras.config", "enable_unsafe_deserialization"),
        "keras.config.enable_unsafe_deserialization",
    ),
    "subprocess_class": (
        lambda config: _dense(config).update(module="subprocess", class_name="Popen"),
        "subprocess.Popen",
    ),
    "lambda": (_lambda_layer, "lambda"),
}


@pytest.mark.parametrize("name", list(UNSAFE_CALLS))
def test_keras_file_naming_code_is_refused(genuine_model, tmp_path, image, capsys, name):
    edit, target = UNSAFE_CALLS[name]
    path = _rewrite(genuine_model, tmp_path / f"{name}.keras", edit)
    line = assert_one_error(image, path, capsys, "refused to load", target)
    assert "unsafe" in line


def test_vocabulary_file_outside_the_model_is_refused(genuine_model, tmp_path, image, capsys):
    path = _rewrite(genuine_model, tmp_path / "lookup.keras", _lookup_reading("/etc/passwd"))
    line = assert_one_error(image, path, capsys, "refused to load", "/etc/passwd")
    assert "root:" not in line


def test_random_bytes_are_not_a_keras_file(tmp_path, image, capsys):
    path = tmp_path / "random.keras"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, "uint8").tobytes())
    line = assert_one_error(image, path, capsys, "not a Keras model file", "not a zip archive")
    assert "not found" not in line.lower()


@pytest.mark.parametrize(
    "replace, fragment",
    [
        ({"config.json": None}, "no config.json"),
        ({"config.json": b"{not json"}, "config.json is not valid JSON"),
        ({"config.json": b"[" * 100_000 + b"]" * 100_000}, "config.json is not valid JSON"),
    ],
    ids=["no-config", "bad-json", "deep-json"],
)
def test_broken_archive_is_named(genuine_model, tmp_path, image, capsys, replace, fragment):
    path = _rewrite(genuine_model, tmp_path / "broken.keras", replace=replace)
    assert_one_error(image, path, capsys, fragment)


@pytest.mark.parametrize(
    "edit, replace",
    [(_drop_units, {}), (None, {"model.weights.h5": b"not hdf5" * 8})],
    ids=["bad-layer-config", "bad-weights"],
)
def test_any_other_load_failure_is_one_line(genuine_model, tmp_path, image, capsys, edit, replace):
    path = _rewrite(genuine_model, tmp_path / "damaged.keras", edit, replace)
    assert_one_error(image, path, capsys, "cannot load")


@FIFO
@pytest.mark.timeout(60)
def test_fifo_config_in_a_preset_dir_is_refused_not_waited_on(tmp_path, image, capsys):
    preset = tmp_path / "preset"
    preset.mkdir()
    (preset / "metadata.json").write_text("{}")
    os.mkfifo(preset / "config.json")
    line = assert_one_error(image, preset, capsys, "config.json", "FIFO")
    assert "regular file" in line


@FIFO
@pytest.mark.timeout(60)
def test_fifo_named_keras_is_refused(tmp_path, image, capsys):
    path = tmp_path / "model.keras"
    os.mkfifo(path)
    assert_one_error(image, path, capsys, "FIFO")


@FIFO
@pytest.mark.timeout(60)
def test_fifo_labels_beside_a_keras_file_are_refused(genuine_model, tmp_path, image, capsys):
    path = tmp_path / "model.keras"
    path.write_bytes(genuine_model.read_bytes())
    os.mkfifo(tmp_path / "labels.json")
    status, errors, err = run_cli(image, path, capsys)
    assert status != 0 and len(errors) == 1 and "Traceback" not in err
    assert "labels.json" in errors[0] and "FIFO" in errors[0]


def test_device_behind_a_keras_symlink_is_refused(tmp_path, image, capsys):
    path = tmp_path / "zeros.keras"
    path.symlink_to("/dev/zero")
    assert_one_error(image, path, capsys, "not a regular file")


@pytest.mark.parametrize("inside", ["config.json", "assets/config.json"])
@pytest.mark.parametrize("target", ["/etc/passwd", "outside.json"])
def test_symlink_inside_a_preset_dir_is_refused(tmp_path, image, capsys, inside, target):
    (tmp_path / "outside.json").write_text("{}")
    preset = tmp_path / "preset"
    (preset / "assets").mkdir(parents=True)
    (preset / "metadata.json").write_text("{}")
    (preset / inside).symlink_to(tmp_path / target)
    line = assert_one_error(image, preset, capsys, "config.json", "symbolic link")
    assert "root:" not in line


def test_genuine_file_passes_the_checks(genuine_model):
    resolved = models.resolve_model_ref(str(genuine_model), SPEC)
    assert resolved.kind == "path" and resolved.location == str(genuine_model)


def test_a_model_built_from_keras_layers_and_product_objects_passes(tmp_path):
    config = {
        "module": "apps.translate.tokenizer",
        "class_name": "MarianTokenizer",
        "config": {"proto": None, "dtype": {"module": "keras", "class_name": "DTypePolicy"}},
        "registered_name": "transferzoo>MarianTokenizer",
        "activation": {"module": "keras.activations", "class_name": "function", "config": "relu"},
    }
    preset = tmp_path / "preset"
    preset.mkdir()
    (preset / "tokenizer.json").write_text(json.dumps(config))
    model_files.check_model_files(preset)


@FIFO
@pytest.mark.timeout(60)
def test_run_whose_model_folder_holds_a_fifo_is_refused(runs_dir, image, capsys):
    run = runs.new_run(SPEC.name, {"epochs": 1})
    (run.path / "model").mkdir()
    os.mkfifo(run.path / "model" / "config.json")
    run.set_status("complete")
    status = classify_predict.main([image, "--model", run.ref, "--runs-dir", str(runs_dir)])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert status != 0 and len(errors) == 1
    assert "config.json" in errors[0] and "FIFO" in errors[0]
