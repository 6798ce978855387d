"""Shared test setup: no network, nothing written to the user's home, tiny models."""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
_CREATED_DIRS = []


def _temp_dir(prefix):
    path = tempfile.mkdtemp(prefix=prefix)
    _CREATED_DIRS.append(path)
    return path


def _set_test_environment():
    """Environment for the whole session; set at import, before any test imports keras."""
    # Forced: a test must never download, and the code under test relies on TensorFlow.
    os.environ["TRANSFERZOO_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ["TRANSFERZOO_RUNS_DIR"] = _temp_dir("transferzoo-runs-")
    os.environ["KERAS_HOME"] = _temp_dir("transferzoo-keras-home-")  # keras writes keras.json
    # Pages load models when a test asks them to, not all at once in the background.
    os.environ["TRANSFERZOO_PRELOAD"] = "0"
    # Defaults: CI may point the cache at a shared directory so conversions happen once.
    if not os.environ.get("TRANSFERZOO_CACHE"):
        os.environ["TRANSFERZOO_CACHE"] = _temp_dir("transferzoo-cache-")


def _put_repo_root_on_path():
    """Make ``shared`` and ``apps`` importable however pytest was started."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def _remove_created_dirs():
    for path in _CREATED_DIRS:
        shutil.rmtree(path, ignore_errors=True)


_set_test_environment()
_put_repo_root_on_path()
atexit.register(_remove_created_dirs)


def pytest_configure(config):
    """Also checked here, in case a plugin reset ``sys.path`` after conftest import."""
    _put_repo_root_on_path()


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    """An empty runs registry, also set as ``$TRANSFERZOO_RUNS_DIR``."""
    path = tmp_path / "runs"
    path.mkdir()
    monkeypatch.setenv("TRANSFERZOO_RUNS_DIR", str(path))
    return path


def _tiny_backbone():
    import keras_hub

    return keras_hub.models.EfficientNetBackbone(
        stackwise_kernel_sizes=[3, 3],
        stackwise_num_repeats=[1, 1],
        stackwise_input_filters=[8, 8],
        stackwise_output_filters=[8, 16],
        stackwise_expansion_ratios=[1, 2],
        stackwise_squeeze_and_excite_ratios=[0, 0],
        stackwise_strides=[1, 2],
        stackwise_block_types=["v1", "v1"],
        stackwise_width_coefficients=[1.0, 1.0],
        stackwise_depth_coefficients=[1.0, 1.0],
        activation="relu6",
        dropout=0.0,
        min_depth=None,
        use_depth_divisor_as_min_depth=True,
        cap_round_filter_decrease=True,
        # The default: keras-hub 0.32's get_config() drops num_features, so any other
        # value would not survive a save/reload.
        num_features=1280,
    )


@pytest.fixture(scope="session")
def tiny_classifier_preset(tmp_path_factory):
    """A keras-hub preset dir of a random 3-class EfficientNet classifier on 32×32 inputs."""
    import keras_hub

    converter = keras_hub.layers.EfficientNetImageConverter(
        image_size=(32, 32), scale=1 / 127.5, offset=-1.0
    )
    preprocessor = keras_hub.models.EfficientNetImageClassifierPreprocessor(
        image_converter=converter
    )
    classifier = keras_hub.models.EfficientNetImageClassifier(
        backbone=_tiny_backbone(), num_classes=3, preprocessor=preprocessor
    )
    preset_dir = tmp_path_factory.mktemp("tiny_classifier_preset")
    classifier.save_to_preset(str(preset_dir))
    return preset_dir


@pytest.fixture
def chelsea():
    """scikit-image's cat photo, (300, 451, 3) uint8."""
    import skimage.data

    return skimage.data.chelsea()


@pytest.fixture
def coffee():
    """scikit-image's espresso cup photo, (400, 600, 3) uint8."""
    import skimage.data

    return skimage.data.coffee()
