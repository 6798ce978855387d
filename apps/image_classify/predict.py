"""``python -m apps.image_classify.predict``: classify images, folders, globs and lists."""

import sys

from apps.image_classify.config import PredictConfig
from apps.image_classify.predictor import Predictor
from shared import predict_cli
from shared.cli import parse_command, report_error
from shared.images import IMAGE_EXTENSIONS, decode_image, resize_image
from shared.inputs import InputPaths

RANKED_FIELDS = ("index", "label", "score")


def describe(result):
    """The text lines of one result: source, model and latency, then a bar per class."""
    lines = [f"{result.source}  ({result.model}, {result.latency_ms:.0f} ms)"]
    for prediction in result.predictions:
        bar = "#" * int(round(prediction.score * 30))
        lines.append(f"  {prediction.score:6.1%}  {prediction.label:<28} {bar}".rstrip())
    return "\n".join(lines)


def csv_columns(top_k):
    """CSV header: the top class as ``index, label, score``, then ``label_2``... per rank."""
    ranked = [f"{name}_{rank}" for rank in range(2, top_k + 1) for name in RANKED_FIELDS]
    return ("source", *RANKED_FIELDS, *ranked, "model", "latency_ms", "error")


def csv_rows(result):
    """One flat row per image (see ``csv_columns``)."""
    row = {"source": result.source, "model": result.model, "latency_ms": result.latency_ms}
    for rank, prediction in enumerate(result.predictions, start=1):
        suffix = "" if rank == 1 else f"_{rank}"
        row |= {f"{name}{suffix}": getattr(prediction, name) for name in RANKED_FIELDS}
    return [row]


def _decoder(image_size):
    """Path -> RGB image at the model's size: resizing here keeps it out of the batch time."""
    return lambda path: resize_image(decode_image(path), image_size)


def main(argv=None):
    """``python -m apps.image_classify.predict IMAGE|FOLDER|GLOB|LIST.txt... --model REF
    [--json|--csv]``; the flags (or a ``--config`` file) are ``PredictConfig``'s."""
    config = parse_command(PredictConfig, argv, prog="python -m apps.image_classify.predict")
    try:
        inputs = InputPaths(config.inputs, IMAGE_EXTENSIONS)
        # A batch never bigger than the input count: 3 images are not padded to 16.
        batch_size = min(config.batch_size, len(inputs))
        predictor = Predictor.load(config.model, runs_dir=config.runs_dir, batch_size=batch_size)
    except (ValueError, OSError) as error:
        return report_error(error)
    mode = predict_cli.output_mode(config)
    return predict_inputs(predictor, inputs, top_k=config.top_k, batch_size=batch_size, mode=mode)


def predict_inputs(predictor, inputs, *, top_k=5, batch_size=16, mode="text"):
    """Classify every input path, streamed in batches of ``batch_size``, printing each result.

    Args:
        predictor: a loaded ``Predictor`` (best warmed up at ``batch_size``).
        inputs: input paths, e.g. ``shared.inputs.InputPaths``.
        top_k: classes per image (capped at the model's class count).
        batch_size: images per model call; the last batch is padded to it.
        mode: ``"text"``, ``"json"`` or ``"csv"``.

    Returns:
        The exit status: 0, or 1 when an input could not be read.
    """
    top_k = min(top_k, len(predictor.labels))
    return predict_cli.run(
        inputs,
        decode=_decoder(predictor.image_size),
        predict=lambda images, sources: predictor.predict(images, top_k=top_k, source=sources),
        output=predict_cli.Output(describe, csv_columns(top_k), csv_rows),
        mode=mode,
        batch_size=batch_size,
        unit="image",
    )


if __name__ == "__main__":
    sys.exit(main())
