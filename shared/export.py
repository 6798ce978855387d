"""Export trained Keras models for serving: TensorFlow SavedModel, TFLite and ONNX.

TFLite comes in three precisions: float32 weights, float16 weights, and full integer (int8
weights and activations, calibrated on a representative set of inputs; the model still takes
and returns float32, with quantize / dequantize steps at its ends).
"""

from pathlib import Path

TFLITE_PRECISIONS = ("float32", "float16", "int8")


def export_saved_model(model, directory):
    """Write an inference-only SavedModel (``model.export``) and return its path."""
    directory = Path(directory)
    model.export(str(directory), format="tf_saved_model", verbose=False)
    return directory


def export_tflite(saved_model_dir, path, *, precision="float32", representative=None):
    """Convert a SavedModel into a ``.tflite`` flatbuffer and return its path.

    Args:
        saved_model_dir: the SavedModel (``export_saved_model``) to convert.
        path: the ``.tflite`` file to write.
        precision: "float32", "float16" (weights stored as float16) or "int8" (full integer
            quantization: every op in int8, calibrated on ``representative``).
        representative: for "int8", example inputs of the model, one per row of an array
            (a few hundred from its training data); their value range sets the scales.
    """
    import tensorflow as tf

    if precision not in TFLITE_PRECISIONS:
        raise ValueError(f"precision must be one of {TFLITE_PRECISIONS}, received {precision!r}")
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    if precision == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif precision == "int8":
        if representative is None or not len(representative):
            raise ValueError("int8 quantization needs representative inputs")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: (
            [example[None].astype("float32")] for example in representative
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(converter.convert())
    return Path(path)


def export_onnx(model, path):
    """Write the model as an ONNX file (Keras' ``model.export``, through ``tf2onnx``).

    Raises ``ImportError`` naming the package when ``tf2onnx`` is not installed.
    """
    try:
        import tf2onnx  # noqa: F401  (Keras imports it itself; this gives the clear error)
    except ImportError as error:
        raise ImportError("ONNX export needs the tf2onnx package (pip install tf2onnx)") from error
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    model.export(str(path), format="onnx", verbose=False)
    return Path(path)
