"""The JAX backend without TensorFlow: these tests run in a virtual environment made from
``requirements-jax.txt`` (``KERAS_BACKEND=jax pytest tests/jax``, see ``.ci/run``), and skip,
saying why, where TensorFlow is installed (the main test run)."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

# ``tests/conftest.py`` forces TensorFlow; here, where it is absent, the backend is JAX.
WITHOUT_TENSORFLOW = (
    importlib.util.find_spec("tensorflow") is None and importlib.util.find_spec("jax") is not None
)
if WITHOUT_TENSORFLOW and "keras" not in sys.modules:
    os.environ["KERAS_BACKEND"] = "jax"


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(
        reason="needs JAX without TensorFlow (a venv from requirements-jax.txt)"
    )
    for item in items:
        if not WITHOUT_TENSORFLOW and HERE in item.path.parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_preset_jax(tmp_path_factory):
    """A keras-hub preset dir of a random 3-class EfficientNet classifier on 32×32 inputs."""
    import keras_hub

    from tests.conftest import _tiny_backbone

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
