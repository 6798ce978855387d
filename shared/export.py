"""Export trained Keras models for serving: TensorFlow SavedModel and TFLite."""

from pathlib import Path


def export_saved_model(model, directory):
    """Write an inference-only SavedModel (``model.export``) and return its path."""
    directory = Path(directory)
    model.export(str(directory), format="tf_saved_model", verbose=False)
    return directory


def export_tflite(saved_model_dir, path):
    """Convert a SavedModel into a ``.tflite`` flatbuffer and return its path."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    Path(path).write_bytes(converter.convert())
    return Path(path)
