"""Reading a run's files for the Runs page: curves, figures, downloads and exports."""

import csv
import functools
import io
import logging
import zipfile
from pathlib import Path

import streamlit as st

from shared.export_check import accepted_exports, read_report, report_rows, tolerance_note
from shared.ui.widgets import show_error

KEY = "runs"
MAX_DOWNLOAD_BYTES = 500 * 1024 * 1024
_LOG = logging.getLogger(__name__)


def metric_summary(run, headline=None):
    """The run's ``headline`` metric as "name value", else its first number ("—": none)."""
    try:
        metrics = run.metrics
    except ValueError:
        return "unreadable"
    numbers = {
        key: value
        for key, value in metrics.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }
    for name in (headline, *numbers):
        if name in numbers:
            return f"{name} {numbers[name]:.3g}"
    return "—"


def _rows_from_history(history):
    """``{metric: [..]}`` or ``{phase: {metric: [..]}}`` as per-epoch rows, numbered on."""
    phases = history if history and all(isinstance(v, dict) for v in history.values()) else None
    rows = []
    for phase, values in (phases or {"": history}).items():
        length = max((len(series) for series in values.values()), default=0)
        for index in range(length):
            row = {"epoch": len(rows) + 1, "phase": phase}
            row |= {k: v[index] for k, v in values.items() if index < len(v)}
            rows.append(row)
    return rows


def _rows_from_csv(run):
    """Per-epoch rows from the Keras CSVLogger files, while history.json is not written."""
    rows = []
    for path in sorted(run.path.glob("history*.csv")):
        with open(path, newline="", encoding="utf-8") as file:
            for record in csv.DictReader(file):
                row = {"epoch": len(rows) + 1, "phase": path.stem}
                for key, value in record.items():
                    try:
                        row[key] = float(value)
                    except (TypeError, ValueError):
                        continue
                row["epoch"] = len(rows) + 1
                rows.append(row)
    return rows


def history_rows(run):
    """The run's training curves as rows (history.json, else its CSV logs)."""
    try:
        history = run.history
    except ValueError:
        history = {}
    if isinstance(history, dict) and history:
        return _rows_from_history(history)
    return _rows_from_csv(run)


def run_figures(run):
    """The run's PNG figures, then the last grid of its ``samples/`` folder."""
    figures = sorted(run.path.glob("*.png"))
    samples = sorted(run.path.glob("samples/*.png"))
    return figures + samples[-1:]


def zip_directory(folder):
    """The folder as zip bytes (stored, not compressed: weights do not compress)."""
    folder = Path(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                archive.write(path, Path(folder.name) / path.relative_to(folder))
    return buffer.getvalue()


def _size(path):
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def download(label, path, key):
    """A download button for ``path`` (a file, or a folder as .zip), read only when clicked.

    The bytes are made on the click (Streamlit's deferred download), so nothing large is
    kept in the session between reruns.
    """
    path = Path(path)
    if not path.exists():
        return
    if _size(path) > MAX_DOWNLOAD_BYTES:
        st.caption(f"{label}: too large to download here; it is at {path}.")
        return
    name = path.name if path.is_file() else f"{path.name}.zip"
    st.download_button(
        f"Download {label}",
        functools.partial(_file_bytes, path),
        file_name=name,
        mime="application/zip" if path.is_dir() else "application/octet-stream",
        key=f"{key}_download",
        icon=":material/download:",
    )


def _file_bytes(path):
    """The file's bytes, or the folder as zip bytes."""
    return path.read_bytes() if path.is_file() else zip_directory(path)


def render_exports(run, exporters=()):
    """Downloads of the model and its exports, and a button for each export not made yet.

    A run with an export report (``shared.export_check``) shows its table under the buttons
    and offers only the exports that passed it.
    """
    if run.state != "complete":
        st.caption(f"The run is {run.state}: it has no final model to download or export.")
        return
    prefix = f"{KEY}_{run.app}_{run.run_id}"
    download("the model", run.model_path, f"{prefix}_model")
    report = read_report(run)
    if report is None:
        download("the SavedModel", run.artifact("export/saved_model"), f"{prefix}_saved_model")
        download("the TFLite model", run.artifact("export/model.tflite"), f"{prefix}_tflite")
    for index, exporter in enumerate(exporters):
        if exporter.is_done(run):
            continue
        if st.button(exporter.label, key=f"{prefix}_export_{index}"):
            try:
                with st.spinner("Exporting (this takes a minute for a full-size model)…"):
                    exporter.export(run)
            except Exception as error:  # a page shows a message, never a traceback
                _LOG.exception("exporting %s failed", run.ref)
                show_error(f"Export failed: {type(error).__name__}: {error}")
                return
            st.rerun()
    if report is not None:
        render_export_report(run, report, prefix)


def render_export_report(run, report, prefix):
    """The export check table, then a download of each export that passed it."""
    st.dataframe(report_rows(report), hide_index=True)
    st.caption(tolerance_note(report))
    for row in accepted_exports(report):
        download(row["format"], run.artifact(row["path"]), f"{prefix}_{row['format']}")
