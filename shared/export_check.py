"""Check exported models against the Keras model they came from, on held-out data.

Each export is loaded back with its own runtime (TensorFlow for a SavedModel, the TFLite
interpreter, ONNX Runtime), run on the same held-out examples as the Keras model, and scored
by a metric of ``shared.export_metrics``: a classifier's accuracy (its drop from the Keras
model, top-1 agreement with it), a generator's fidelity to the Keras model's images, a
held-out score the model's own decoding gives (a detector's mAP50). The
report is a table (format, size, the metric's columns, ms per example) in which an export
scored outside the metric's tolerance is marked refused: the Runs page then offers no
download of it.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.atomic_io import atomic_write_json, read_json
from shared.export_metrics import MAX_ACCURACY_DROP, METRICS, Accuracy

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


def check_exports(
    reference, exports, root, examples, labels=None, *, batch_size=32, tolerance=None, metric=None
):
    """Score each export against the Keras model on held-out ``examples``; the report dict.

    Args:
        reference: the Keras model the exports came from.
        exports: the ``Export`` entries to check; each one's ``path`` is under ``root``.
        root: the folder the paths are relative to (the run's folder).
        examples: held-out model inputs, as the exports take them (an array of any numeric
            dtype: each batch is made float32 as it is run, so uint8 images stay small).
        labels: for a classifier, their integer classes (scored by ``Accuracy``).
        batch_size: examples per call, the same for every runtime.
        tolerance: accuracy points a classifier's export may lose (default
            ``MAX_ACCURACY_DROP``).
        metric: how to score instead of ``Accuracy(labels, tolerance)`` (e.g. ``Fidelity``).

    Returns:
        ``{"examples", "metric", "keras": row, "exports": [row, ...]}`` and the metric's
        tolerance; a row has format, path, size_mb, the metric's fields (for accuracy:
        accuracy, drop_points, agreement), ms_per_example and status: "ok", "refused" (scored
        outside the tolerance) or "failed" (could not be loaded or run; "error" says why).
    """
    if metric is None:
        metric = Accuracy(labels, MAX_ACCURACY_DROP if tolerance is None else tolerance)
    import tensorflow as tf

    examples = np.asarray(examples)
    batches = (
        tf.data.Dataset.from_tensor_slices(examples)
        .batch(batch_size)
        .map(lambda batch: tf.cast(batch, "float32"))
    )
    reference.predict(batches.take(1), verbose=0)  # builds its predict function
    start = time.perf_counter()
    keras_outputs = reference.predict(batches, verbose=0)
    keras_ms = 1000 * (time.perf_counter() - start) / len(examples)
    keras_row = {"format": "keras", **metric.reference(keras_outputs), "ms_per_example": keras_ms}
    rows = []
    for export in exports:
        path = Path(root) / export.path
        row = {"format": export.format, "path": export.path, "size_mb": None}
        try:
            row["size_mb"] = size_mb(path)
            outputs, ms = run_batches(LOADERS[export.runtime](path), examples, batch_size)
            fields, refused = metric.score(outputs, keras_outputs, keras_row)
        except Exception as error:  # one broken export is a row of the table, not a crash
            rows.append(row | {"status": "failed", "error": f"{type(error).__name__}: {error}"})
            continue
        status = "refused" if refused else "ok"
        rows.append(row | fields | {"ms_per_example": ms, "status": status})
    return {
        "examples": len(examples),
        "metric": metric.name,
        **metric.report_fields(),
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


def _metric(report):
    return METRICS[report.get("metric", Accuracy.name)]  # reports before "metric" were accuracy


def report_rows(report):
    """The report as table rows (dicts), the Keras model first; None where there is no value."""

    def cell(value, digits):
        return None if value is None else round(value, digits)

    columns = _metric(report).columns(report)
    keras = report["keras"]
    rows = [
        {
            "format": "keras",
            "size (MB)": None,
            **{header: cell(keras.get(field), digits) for header, field, digits in columns},
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
                **{header: cell(row.get(field), digits) for header, field, digits in columns},
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
    return _metric(report).note(report)


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
