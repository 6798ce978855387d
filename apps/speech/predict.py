"""``python -m apps.speech.predict``: transcribe recordings, folders, globs and lists."""

import sys

from apps.speech.config import PredictConfig
from apps.speech.predictor import Predictor
from shared import predict_cli
from shared.audio import AUDIO_EXTENSIONS, decode_audio
from shared.cli import parse_command, report_error
from shared.inputs import InputPaths

CSV_COLUMNS = (
    "source",
    "start",
    "end",
    "text",
    "language",
    "audio_seconds",
    "real_time_factor",
    "model",
    "latency_ms",
    "error",
)


def describe(result):
    """The text lines of one transcript: source, duration, the language when detected (with
    its probability; "→ en" when translated) and the text, then its segments."""
    seconds, factor = result.audio_seconds, result.real_time_factor
    heard = ""
    if result.language_probability is not None:
        heard = f", {result.language} {result.language_probability:.0%}"
    heard += " → en" if result.task == "translate" else ""
    lines = [
        f"{result.source} ({seconds:.1f} s{heard}, real-time factor {factor:.2f}): {result.text}"
    ]
    for segment in result.segments:
        lines.append(f"  [{segment.start:6.2f} → {segment.end:6.2f}] {segment.text}")
    return "\n".join(lines)


def csv_rows(result):
    """One row per clip; with ``--timestamps``, one row per segment (start, end, text)."""
    common = {
        "source": result.source,
        "language": result.language,
        "audio_seconds": result.audio_seconds,
        "real_time_factor": result.real_time_factor,
        "model": result.model,
        "latency_ms": result.latency_ms,
    }
    segments = [
        common | {"start": segment.start, "end": segment.end, "text": segment.text}
        for segment in result.segments
    ]
    return segments or [common | {"text": result.text}]


def main(argv=None):
    """``python -m apps.speech.predict CLIP|FOLDER|GLOB|LIST.txt... --model REF
    [--beam-size N] [--timestamps] [--language CODE] [--task transcribe|translate]
    [--json|--csv]``; the flags (or a ``--config`` file) are ``PredictConfig``'s."""
    config = parse_command(PredictConfig, argv, prog="python -m apps.speech.predict")
    try:
        inputs = InputPaths(config.inputs, AUDIO_EXTENSIONS)
        predictor = Predictor.load(config.model, runs_dir=config.runs_dir)
        predictor.request(config.language, config.task)  # refused before any clip is read
    except (ValueError, OSError) as error:
        return report_error(error)

    options = {"beam_size": config.beam_size, "timestamps": config.timestamps}
    options |= {"language": config.language, "task": config.task}
    return predict_cli.run(
        inputs,
        decode=decode_audio,
        predict=predict_cli.one_at_a_time(
            lambda clip, source: predictor.predict(clip, source=source, **options)
        ),
        output=predict_cli.Output(describe, CSV_COLUMNS, csv_rows),
        mode=predict_cli.output_mode(config),
        unit="clip",
    )


if __name__ == "__main__":
    sys.exit(main())
