"""Tests for shared.metrics, shared.plots and shared.export."""

import numpy as np
import pytest

from shared.export import export_saved_model, export_tflite
from shared.metrics import classification_report, confusion_matrix
from shared.plots import save_confusion_matrix, save_history

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_confusion_matrix_counts_true_rows_predicted_columns():
    matrix = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3)
    assert matrix.dtype == np.int64
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])


def test_classification_report_on_a_hand_made_case():
    # cat: 3 true, 2 found; dog: 2 true, 1 found; bird: never predicted, 1 true.
    true = [0, 0, 0, 1, 1, 2]
    predicted = [0, 0, 1, 1, 0, 0]
    report = classification_report(true, predicted, ["cat", "dog", "bird"])
    assert report["accuracy"] == pytest.approx(3 / 6)
    assert report["num_examples"] == 6
    assert report["confusion_matrix"] == [[2, 1, 0], [1, 1, 0], [1, 0, 0]]
    cat, dog, bird = (report["per_class"][name] for name in ("cat", "dog", "bird"))
    assert cat == {"precision": pytest.approx(2 / 4), "recall": pytest.approx(2 / 3), "support": 3}
    assert dog == {"precision": pytest.approx(1 / 2), "recall": pytest.approx(1 / 2), "support": 2}
    assert bird == {"precision": 0.0, "recall": 0.0, "support": 1}  # no division by zero
    assert report["macro_precision"] == pytest.approx((2 / 4 + 1 / 2 + 0) / 3)
    assert report["macro_recall"] == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)


def test_classification_report_of_nothing_is_zero():
    empty = np.zeros(0, dtype="int32")
    report = classification_report(empty, empty, ["a", "b"])
    assert report["accuracy"] == 0.0 and report["num_examples"] == 0


def _assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 1000


def test_save_confusion_matrix_writes_a_png(tmp_path):
    path = tmp_path / "confusion.png"
    save_confusion_matrix([[5, 1], [0, 4]], ["cat", "dog"], path)
    _assert_png(path)


def test_save_history_writes_a_png(tmp_path):
    histories = {
        "head": {"loss": [1.0, 0.8], "val_loss": [1.1, 0.9], "accuracy": [0.4, 0.6]},
        "fine_tune": {"loss": [0.5], "accuracy": [0.7], "val_accuracy": [0.65]},
    }
    path = tmp_path / "history.png"
    save_history(histories, path)
    _assert_png(path)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A tiny Dense model exported as a SavedModel, with its expected outputs."""
    import keras

    inputs = keras.Input((4,), name="features")
    outputs = keras.layers.Dense(3, name="logits")(inputs)
    model = keras.Model(inputs, outputs)
    batch = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    expected = model.predict(batch, verbose=0)
    directory = export_saved_model(model, tmp_path_factory.mktemp("export") / "saved_model")
    return directory, batch, expected


def test_export_saved_model_reloads_with_the_same_outputs(saved_model):
    import tensorflow as tf

    directory, batch, expected = saved_model
    assert (directory / "saved_model.pb").is_file()
    reloaded = tf.saved_model.load(str(directory))
    np.testing.assert_allclose(reloaded.serve(batch).numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
def test_export_tflite_runs_with_the_same_outputs(saved_model, tmp_path):
    tf = pytest.importorskip("tensorflow")
    if not hasattr(getattr(tf, "lite", None), "TFLiteConverter"):
        pytest.skip("this TensorFlow build has no tf.lite.TFLiteConverter")
    directory, batch, expected = saved_model
    path = export_tflite(directory, tmp_path / "model.tflite")
    assert path == tmp_path / "model.tflite" and path.stat().st_size > 0
    interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], batch.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], batch)
    interpreter.invoke()
    output = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-5)
