"""Export trained Keras models for serving: TensorFlow SavedModel, TFLite and ONNX.

TFLite comes in three precisions: float32 weights, float16 weights, and full integer (int8
weights and activations, calibrated on a representative set of inputs; the model still takes
and returns float32, with quantize / dequantize steps at its ends).
"""

import importlib.util
from pathlib import Path

from shared.app_spec import Exporter
from shared.export_check import REPORT, Export, check_exports, read_report, write_report

TFLITE_PRECISIONS = ("float32", "float16", "int8")
SAVED_MODEL = "export/saved_model"
FORMATS = {
    "saved_model": Export("saved_model", SAVED_MODEL, "saved_model"),
    "tflite": Export("tflite_float32", "export/model.tflite", "tflite"),
    "tflite_float16": Export("tflite_float16", "export/model_float16.tflite", "tflite"),
    "tflite_int8": Export("tflite_int8", "export/model_int8.tflite", "tflite"),
    "onnx": Export("onnx", "export/model.onnx", "onnx"),
}
"""Export names (``--export``) -> the file each one writes into a run (the SavedModel is
always written: the TFLite ones are converted from it)."""


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


def check_formats(formats):
    """Raise ``ValueError`` naming the accepted formats when ``formats`` has another, or when
    exports are asked for where TensorFlow is not installed (the JAX environment)."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"export accepts {', '.join(FORMATS)}; received {sorted(unknown)}")
    if formats and importlib.util.find_spec("tensorflow") is None:
        raise ValueError(
            "--export needs TensorFlow (every format is written through a SavedModel), "
            "which this environment does not have; export the run from one that has it"
        )


def write_exports(serving, run, formats, representative):
    """Write a run's SavedModel and the asked ``formats`` (keys of ``FORMATS``) into it.

    Args:
        serving: the inference model to export, called once already (ONNX needs it built).
        run: the run whose ``export/`` folder receives them.
        formats: which exports to write besides the SavedModel.
        representative: example inputs calibrating int8 (a few hundred of the run's own).

    Returns:
        ``(written, failed)``: the ``Export`` entries written, and a row (format, path,
        error) for each format that could not be converted: reported, not fatal.
    """
    check_formats(formats)
    saved_model = export_saved_model(serving, run.artifact(SAVED_MODEL))
    writers = {
        "tflite": lambda path: export_tflite(saved_model, path),
        "tflite_float16": lambda path: export_tflite(saved_model, path, precision="float16"),
        "tflite_int8": lambda path: export_tflite(
            saved_model, path, precision="int8", representative=representative
        ),
        "onnx": lambda path: export_onnx(serving, path),
    }
    written, failed = [FORMATS["saved_model"]], []
    for name in [name for name in FORMATS if name in formats and name != "saved_model"]:
        export = FORMATS[name]
        try:
            writers[name](run.artifact(export.path))
            written.append(export)
        except Exception as error:  # a format that cannot be converted is reported, not fatal
            error = f"{type(error).__name__}: {error}"
            failed.append({"format": export.format, "path": export.path, "error": error})
    return written, failed


def export_checked(serving, run, formats, *, representative, examples, metric, batch_size=32):
    """Write the asked exports into the run, check each on ``examples``; the report.

    The report (``shared.export_check.check_exports`` scored by ``metric``, with a "failed"
    row for each format that could not be converted) is also written to the run's
    ``export/report.json``.
    """
    written, failed = write_exports(serving, run, formats, representative)
    report = check_exports(
        serving, written, run.path, examples, batch_size=batch_size, metric=metric
    )
    report["exports"] += [row | {"status": "failed"} for row in failed]
    write_report(report, run.artifact(REPORT))
    return report


def has_every_export(run):
    """Whether the run's export report covers every format (the ONNX row may have failed)."""
    report = read_report(run)
    checked = {row["format"] for row in report["exports"]} if report else set()
    return checked >= {export.format for export in FORMATS.values()}


def checked_exporter(export_run):
    """The Runs page's export of a complete run: ``export_run(run)`` writes every format of
    ``FORMATS`` and its checked report; the button goes once every format is in it."""
    return Exporter(
        "Export and check SavedModel, TFLite (float32, float16, int8) and ONNX",
        REPORT,
        export_run,
        done=has_every_export,
    )
