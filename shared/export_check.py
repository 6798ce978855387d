"""Check exported models against the Keras model they came from, on held-out data.

Each export is loaded back with its own runtime (TensorFlow for a SavedModel, the TFLite
interpreter, ONNX Runtime), run on the same held-out examples as the Keras model, and scored.
The report is a table (format, size, accuracy, its drop from the Keras model, top-1
agreement with it, ms per example) in which an export whose accuracy dropped by more than
``MAX_ACCURACY_DROP`` points is marked refused: the Runs page then offers no download of it.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.atomic_io import atomic_write_json, read_json

MAX_ACCURACY_DROP = 2.0  # accuracy points (percent) an export may lose against the Keras model
REPORT = "export/report.json"


@dataclass(frozen=True)
class Export:
    """One exported model to check.

    Args:
        format: its name in the table ("saved_model", "tflite_int8", "onnx" ...).
        path: the run-relative file or folder it lives in.
        runtime: "saved_model", "tflite" or "onnx": how it is loaded back.
    """

    format: str
    path: str
    runtime: str


def load_saved_model(path):
    """A SavedModel's ``serve`` signature as ``predict(batch) -> numpy outputs``."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))

    def predict(batch):
        return np.asarray(loaded.serve(tf.constant(batch)))

    predict.keep = loaded  # the function needs the loaded object alive: it owns the variables
    return predict


def load_tflite(path):
    """A ``.tflite`` model in the TFLite interpreter as ``predict(batch) -> numpy outputs``.

    Quantized (int8 / uint8) inputs and outputs are converted with the model's own scales.
    """
    import warnings

    import tensorflow as tf

    with warnings.catch_warnings():  # its deprecation notice names a package not required here
        warnings.simplefilter("ignore", UserWarning)
        interpreter = tf.lite.Interpreter(model_path=str(path))
    input_detail = interpreter.get_input_details()[0]
    output_index = interpreter.get_output_details()[0]["index"]
    shape = None

    def predict(batch):
        nonlocal shape
        if shape != batch.shape:
            interpreter.resize_tensor_input(input_detail["index"], batch.shape)
            interpreter.allocate_tensors()
            shape = batch.shape
        interpreter.set_tensor(input_detail["index"], _quantize(batch, input_detail))
        interpreter.invoke()
        output_detail = interpreter.get_output_details()[0]
        return _dequantize(interpreter.get_tensor(output_index), output_detail)

    return predict


def _quantize(values, detail):
    dtype = detail["dtype"]
    if np.issubdtype(dtype, np.floating):
        return values.astype(dtype)
    scale, zero_point = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(values / scale + zero_point), info.min, info.max).astype(dtype)


def _dequantize(values, detail):
    if np.issubdtype(values.dtype, np.floating):
        return values
    scale, zero_point = detail["quantization"]
    return (values.astype("float32") - zero_point) * scale


def load_onnx(path):
    """An ONNX file in ONNX Runtime (CPU) as ``predict(batch) -> numpy outputs``."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name

    def predict(batch):
        return session.run(None, {input_name: batch.astype("float32")})[0]

    return predict


LOADERS = {"saved_model": load_saved_model, "tflite": load_tflite, "onnx": load_onnx}


def size_mb(path):
    """A file's or folder's size in MB."""
    path = Path(path)
    files = [path] if path.is_file() else [item for item in path.rglob("*") if item.is_file()]
    return sum(item.stat().st_size for item in files) / 1e6


def run_batches(predict, examples, batch_size):
    """``(outputs, ms per example)`` of ``predict`` over ``examples`` in batches.

    Each batch is made float32 as it is run. The first batch runs twice before the clock
    starts (a runtime's first calls build it).
    """
    starts = range(0, len(examples), batch_size)
    for _ in range(2):
        predict(examples[:batch_size].astype("float32"))
    start = time.perf_counter()
    outputs = [np.asarray(predict(examples[i : i + batch_size].astype("float32"))) for i in starts]
    elapsed = time.perf_counter() - start
    return np.concatenate(outputs), 1000 * elapsed / len(examples)


def _points(value):
    return round(100 * float(value), 2)


def check_exports(reference, exports, root, examples, labels, *, batch_size=32, tolerance=None):
    """Score each export against the Keras model on ``(examples, labels)``; the report dict.

    Args:
        reference: the Keras model the exports came from (outputs: one score per class).
        exports: the ``Export`` entries to check; each one's ``path`` is under ``root``.
        root: the folder the paths are relative to (the run's folder).
        examples: held-out model inputs, as the exports take them (an array of any numeric
            dtype: each batch is made float32 as it is run, so uint8 images stay small).
        labels: their integer classes.
        batch_size: examples per call, the same for every runtime.
        tolerance: accuracy points an export may lose (default ``MAX_ACCURACY_DROP``).

    Returns:
        ``{"examples", "tolerance_points", "keras": row, "exports": [row, ...]}``; a row has
        format, path, size_mb, accuracy, drop_points, agreement (top-1 agreement with the
        Keras model), ms_per_example and status: "ok", "refused" (dropped too much) or
        "failed" (could not be loaded or run; "error" says why).
    """
    tolerance = MAX_ACCURACY_DROP if tolerance is None else tolerance
    import tensorflow as tf

    examples, labels = np.asarray(examples), np.asarray(labels)
    batches = (
        tf.data.Dataset.from_tensor_slices(examples)
        .batch(batch_size)
        .map(lambda batch: tf.cast(batch, "float32"))
    )
    reference.predict(batches.take(1), verbose=0)  # builds its predict function
    start = time.perf_counter()
    keras_outputs = reference.predict(batches, verbose=0)
    keras_ms = 1000 * (time.perf_counter() - start) / len(examples)
    keras_top = keras_outputs.argmax(-1)
    keras_accuracy = float(np.mean(keras_top == labels))
    keras_row = {"format": "keras", "accuracy": keras_accuracy, "ms_per_example": keras_ms}
    rows = []
    for export in exports:
        path = Path(root) / export.path
        row = {"format": export.format, "path": export.path, "size_mb": None}
        try:
            row["size_mb"] = size_mb(path)
            outputs, ms = run_batches(LOADERS[export.runtime](path), examples, batch_size)
            top = np.asarray(outputs).reshape(len(examples), -1).argmax(-1)
        except Exception as error:  # one broken export is a row of the table, not a crash
            rows.append(row | {"status": "failed", "error": f"{type(error).__name__}: {error}"})
            continue
        accuracy = float(np.mean(top == labels))
        drop = _points(keras_accuracy - accuracy)
        row |= {
            "accuracy": accuracy,
            "drop_points": drop,
            "agreement": float(np.mean(top == keras_top)),
            "ms_per_example": ms,
            "status": "refused" if drop > tolerance else "ok",
        }
        rows.append(row)
    return {
        "examples": len(labels),
        "tolerance_points": tolerance,
        "keras": keras_row,
        "exports": rows,
    }


def write_report(report, path):
    """Write the report as JSON (atomically) and return its path."""
    atomic_write_json(path, report)
    return Path(path)


def read_report(run):
    """The run's export report, or None when it has none (or it is unreadable)."""
    try:
        return read_json(run.artifact(REPORT))
    except (OSError, ValueError):
        return None


def report_rows(report):
    """The report as table rows (dicts), the Keras model first; None where there is no value."""

    def cell(value, digits):
        return None if value is None else round(value, digits)

    keras = report["keras"]
    rows = [
        {
            "format": "keras",
            "size (MB)": None,
            "accuracy": cell(keras["accuracy"], 4),
            "drop (points)": None,
            "agreement": None,
            "ms/example": cell(keras["ms_per_example"], 2),
            "status": "reference",
        }
    ]
    for row in report["exports"]:
        status = row["status"]
        rows.append(
            {
                "format": row["format"],
                "size (MB)": cell(row.get("size_mb"), 2),
                "accuracy": cell(row.get("accuracy"), 4),
                "drop (points)": cell(row.get("drop_points"), 2),
                "agreement": cell(row.get("agreement"), 4),
                "ms/example": cell(row.get("ms_per_example"), 2),
                "status": status if status != "failed" else f"failed: {row['error']}",
            }
        )
    return rows


def accepted_exports(report):
    """The report's rows of exports that passed the check (the ones offered for download)."""
    return [row for row in report["exports"] if row["status"] == "ok"]


def tolerance_note(report):
    """One sentence saying what the table was measured on and what is refused."""
    return (
        f"Checked on {report['examples']} held-out examples against the Keras model; an "
        f"export that loses more than {report['tolerance_points']:g} accuracy points is "
        "refused and not offered for download."
    )


def format_report(report):
    """The report as an aligned text table with a line stating the tolerance."""
    rows = report_rows(report)
    headers = list(rows[0])
    cells = [headers] + [
        ["—" if row[key] is None else str(row[key]) for key in headers] for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(line, widths)) for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append(tolerance_note(report))
    return "\n".join(line.rstrip() for line in lines)
