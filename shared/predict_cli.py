"""The predict command line every app shares: inputs, batches, per-input errors, outputs.

Inputs stream (``shared.inputs``): each batch is decoded (in a thread, while the model works
on the batch before it), predicted, printed and dropped, so memory stays flat however many
inputs there are: at most two batches are held at once. The last batch is padded to the
batch size (with copies of its last item) so the model always sees one input shape and
never retraces; only the real items are reported. An input that cannot be decoded gets an
error record and the others go on; the exit status is then 1.

Outputs: a human-readable description per input (default), ``--json`` (one JSON object
per input, JSON Lines) or ``--csv`` (a header, then the app's flat rows). Errors also go
to stderr as ``error: ...`` lines; a progress bar goes to stderr when there are many
inputs and stderr is a terminal, so stdout stays clean for ``--json`` and ``--csv``.
"""

import csv
import dataclasses
import io
import itertools
import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tqdm import tqdm

PROGRESS_MIN_INPUTS = 20
FAILED = 1
INPUT_ERRORS = (ValueError, OSError)


@dataclass(frozen=True, kw_only=True)
class PredictOptions:
    """The flags every predict command over input files has (``shared.cli`` builds them);
    an app's predict config adds its ``inputs`` (see ``inputs_field``) and own flags."""

    model: str | None = field(
        default=None, metadata={"help": "model reference (bundled:, preset, run:)"}
    )
    json: bool = field(
        default=False,
        metadata={
            "help": "one JSON object per input",
            "action": "store_true",
            "exclusive": "format",
        },
    )
    csv: bool = field(
        default=False,
        metadata={"help": "CSV with a header row", "action": "store_true", "exclusive": "format"},
    )
    runs_dir: str | None = field(default=None, metadata={"help": "runs registry root"})


def inputs_field(*, metavar, kind):
    """The positional input paths of a predict config: ``inputs: tuple[str, ...] =
    inputs_field(metavar="IMAGE", kind="image")``; one or more are required."""
    return field(
        metadata={
            "help": f"{kind} files, folders (searched recursively), quoted globs "
            "('photos/*.jpg') or .txt files listing paths, one per line",
            "positional": True,
            "metavar": metavar,
        }
    )


def output_mode(config):
    """``"json"``, ``"csv"`` or ``"text"`` from a config's ``json`` and ``csv`` switches."""
    return "json" if config.json else "csv" if config.csv else "text"


@dataclass(frozen=True)
class Output:
    """How an app shows one result.

    Attributes:
        describe: result -> text for people (one or more lines).
        csv_columns: the CSV header; it should hold ``source`` and ``error``.
        csv_rows: result -> list of dicts keyed by (some of) ``csv_columns``.
    """

    describe: Callable
    csv_columns: tuple
    csv_rows: Callable


def _csv_line(values):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values)
    return buffer.getvalue()


class _Writer:
    """Prints results and errors in one output mode, around the progress bar."""

    def __init__(self, mode, output):
        self.mode, self.output = mode, output
        if mode == "csv":
            self._out(_csv_line(output.csv_columns))

    @staticmethod
    def _out(text, file=None):
        file = file or sys.stdout
        if file.isatty():  # the progress bar's terminal: clear the bar, write, redraw it
            tqdm.write(text, file=file)
        else:
            print(text, file=file)

    def _rows(self, rows):
        columns = self.output.csv_columns
        for row in rows:
            self._out(_csv_line([row.get(column, "") for column in columns]))

    def result(self, result):
        if self.mode == "json":
            self._out(json.dumps(result.to_dict()))
        elif self.mode == "csv":
            self._rows(self.output.csv_rows(result))
        else:
            self._out(self.output.describe(result))

    def error(self, source, message):
        message = " ".join(str(message).split())
        self._out(f"error: {message}", file=sys.stderr)
        if self.mode == "json":
            self._out(json.dumps({"source": source, "error": message}))
        elif self.mode == "csv":
            self._rows([{"source": source, "error": message}])


def _decode_all(paths, decode):
    """``[(path, item, error)]``: each input decoded, or the message of why it could not be."""
    decoded = []
    for path in paths:
        try:
            decoded.append((path, decode(path), None))
        except INPUT_ERRORS as error:
            decoded.append((path, None, str(error)))
    return decoded


def predict_padded(predict, items, sources, batch_size):
    """``predict`` on ``items`` padded to ``batch_size``; the results of the real items only.

    With several items per call, each result's ``latency_ms`` becomes the call's time per
    real item (the padding's cost included: it is what the batch took).
    """
    real = len(items)
    padding = max(batch_size - real, 0)
    start = time.perf_counter()
    results = list(predict(items + items[-1:] * padding, sources + [None] * padding))[:real]
    if batch_size == 1:
        return results
    latency_ms = (time.perf_counter() - start) * 1000 / real
    return [dataclasses.replace(result, latency_ms=latency_ms) for result in results]


def _predict_batch(decoded, predict, batch_size):
    """``[(path, item, result, error)]`` for one decoded batch, in input order."""
    readable = [index for index, (_, _, error) in enumerate(decoded) if error is None]
    results, failure = {}, None
    if readable:
        items = [decoded[index][1] for index in readable]
        sources = [decoded[index][0] for index in readable]
        try:
            results = dict(zip(readable, predict_padded(predict, items, sources, batch_size)))
        except INPUT_ERRORS as error:
            failure = str(error)
    reported = []
    for index, (path, item, error) in enumerate(decoded):
        if error is None and index not in results:
            error = failure
        reported.append((path, item, results.get(index), error))
    return reported


def _batches(paths, batch_size):
    iterator = iter(paths)
    while batch := list(itertools.islice(iterator, batch_size)):
        yield batch


def _show_progress(count):
    return count > PROGRESS_MIN_INPUTS and sys.stderr.isatty()


def one_at_a_time(predict_one):
    """A ``predict`` for ``run`` from ``(item, source) -> result``, for models that take each
    input at its own size (MTCNN's image pyramid, a clip's own length)."""

    def predict(items, sources):
        return [predict_one(item, source) for item, source in zip(items, sources)]

    return predict


def run(inputs, *, decode, predict, output, mode="text", batch_size=1, after=None, unit="file"):
    """Decode, predict and print every input, one batch at a time.

    Args:
        inputs: the input paths (e.g. ``shared.inputs.InputPaths``); ``len()`` sizes the
            progress bar.
        decode: path -> item; a ``ValueError``/``OSError`` marks that input unreadable.
        predict: ``(items, sources) -> results`` (one per item, dataclasses with
            ``to_dict()`` and ``latency_ms``); always called with ``batch_size`` items.
        output: the app's ``Output``.
        mode: ``"text"``, ``"json"`` or ``"csv"`` (see ``output_mode``).
        batch_size: inputs per ``predict`` call.
        after: optional ``(item, result) -> None`` run on each result before it is
            printed (e.g. saving a drawing); its ``OSError``/``ValueError`` fail that input.
        unit: the progress bar's unit.

    Returns:
        The exit status: 0, or 1 when any input failed.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
    writer, failed = _Writer(mode, output), 0
    show = _show_progress(len(inputs))
    with tqdm(total=len(inputs), unit=unit, file=sys.stderr, disable=not show) as progress:
        for decoded in _decoded_batches(inputs, decode, batch_size):
            for path, item, result, error in _predict_batch(decoded, predict, batch_size):
                failed += not _report(writer, path, item, result, error, after)
            progress.update(len(decoded))
    return FAILED if failed else 0


def _decoded_batches(inputs, decode, batch_size):
    """Decoded batches, the next one decoding in a thread while the caller predicts this one.

    Decoders (Pillow, libsndfile, TensorFlow ops) release the GIL, so decoding overlaps the
    model's work; at most two batches are in memory.
    """
    batches = _batches(inputs, batch_size)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_decode_all, next(batches, []), decode)
        while decoded := pending.result():
            pending = pool.submit(_decode_all, next(batches, []), decode)
            yield decoded


def _report(writer, path, item, result, error, after):
    """Print one input's result (after running ``after`` on it) or error; True if it passed."""
    if error is None and after is not None:
        try:
            after(item, result)
        except INPUT_ERRORS as after_error:
            error = str(after_error)
    if error is None:
        writer.result(result)
    else:
        writer.error(path, error)
    return error is None
