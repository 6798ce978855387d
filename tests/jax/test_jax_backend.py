"""Image classification on the JAX backend, in an environment without TensorFlow."""

import sys

import numpy as np
import pytest

pytestmark = pytest.mark.jax

# The bundled default model on TensorFlow (tests/image_classify, measured there): the top
# classes and probabilities that the JAX backend must reproduce.
TENSORFLOW_TOP = {
    "chelsea": [("Egyptian cat", 0.5717), ("tiger cat", 0.2177), ("tabby", 0.1515)],
    "coffee": [("espresso", 0.9135), ("cup", 0.0275), ("consomme", 0.0162)],
}


def test_importing_the_app_does_not_import_tensorflow_or_streamlit():
    import apps.image_classify.finetune  # noqa: F401
    import apps.image_classify.predict  # noqa: F401

    assert "tensorflow" not in sys.modules
    assert "streamlit" not in sys.modules  # the command lines run without the front end
    import keras

    assert keras.backend.backend() == "jax"


@pytest.mark.real_weights
@pytest.mark.parametrize("name", sorted(TENSORFLOW_TOP))
def test_default_model_predicts_like_on_tensorflow(name):
    import skimage.data

    from apps.image_classify.predictor import Predictor

    result = Predictor.load().predict(getattr(skimage.data, name)(), top_k=5)
    expected = TENSORFLOW_TOP[name]
    assert [p.label for p in result.predictions[: len(expected)]] == [e[0] for e in expected]
    for prediction, (_, score) in zip(result.predictions, expected):
        assert prediction.score == pytest.approx(score, abs=0.002)


@pytest.fixture(scope="module")
def shapes_folder(tmp_path_factory):
    from apps.image_classify.data import synthetic_shapes, write_image_folder

    folder = tmp_path_factory.mktemp("data") / "shapes"
    return write_image_folder(synthetic_shapes(num_per_class=5, image_size=32), folder)


@pytest.mark.parametrize("mode", ["feature_extract", "fine_tune"])
def test_finetune_completes_and_the_run_reloads(mode, shapes_folder, tiny_preset_jax, tmp_path):
    from apps.image_classify import finetune
    from apps.image_classify.data import load_folder
    from apps.image_classify.predictor import Predictor
    from shared import runs

    argv = [
        *("--data", str(shapes_folder), "--model", str(tiny_preset_jax)),
        *("--mode", mode, "--epochs", "1", "--head-epochs", "1", "--batch-size", "4"),
        *("--image-size", "32", "--runs-dir", str(tmp_path)),  # TensorBoard on, as by default
    ]
    assert finetune.main(argv) == 0
    (run,) = runs.list_runs("image_classify", runs_dir=tmp_path)
    assert run.state == "complete"
    assert 0.0 <= run.metrics["accuracy"] <= 1.0
    assert list(run.history) == (["head"] if mode == "feature_extract" else ["head", "fine_tune"])
    predictor = Predictor.load(run.ref, runs_dir=tmp_path)
    assert predictor.labels == ["circle", "square", "stripes"]
    images = load_folder(shapes_folder, 32).images[:3]
    probabilities = np.asarray([r.predictions[0].score for r in predictor.predict(list(images))])
    assert ((probabilities > 0) & (probabilities <= 1)).all()


def test_an_export_is_refused_in_one_line_before_training(shapes_folder, tmp_path, capsys):
    from apps.image_classify import finetune

    argv = ["--data", str(shapes_folder), "--export", "tflite", "--runs-dir", str(tmp_path)]
    assert finetune.main(argv) == 2
    assert "--export needs TensorFlow" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # no run was started
