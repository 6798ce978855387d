"""``python -m apps.translate.predict``: translate texts and text files."""

import json
import sys
from pathlib import Path

from apps.translate.config import PredictConfig
from apps.translate.predictor import (
    DIRECTION_MODELS,
    Predictor,
)
from apps.translate.text import decode_text_bytes
from shared.cli import parse_command, report_error


def _inputs(config):
    """``(text, source)`` of each input: the texts given (no source), then each file's."""
    inputs = [(text, None) for text in config.texts]
    for path in config.file:
        inputs.append((decode_text_bytes(Path(path).read_bytes(), name=path), path))
    if not inputs:
        raise ValueError("give the text to translate, or --file FILE")
    return inputs


def main(argv=None):
    """``python -m apps.translate.predict "TEXT" [--file F] [--model REF] [--json]``; the
    flags (or a ``--config`` file) are ``PredictConfig``'s."""
    config = parse_command(PredictConfig, argv, prog="python -m apps.translate.predict")
    try:
        inputs = _inputs(config)
        model = config.model or DIRECTION_MODELS[config.direction]
        predictor = Predictor.load(
            model, runs_dir=config.runs_dir, target_language=config.target_language
        )
        options = dict(
            beam_size=config.beam_size,
            num_alternatives=config.alternatives,
            max_characters=config.max_characters,
        )
        results = [predictor.predict(text, source=source, **options) for text, source in inputs]
    except (ValueError, OSError) as error:
        return report_error(error)
    for result in results:
        if config.json:
            print(json.dumps(result.to_dict(), ensure_ascii=False))
            continue
        print(result.translation)
        for alternative in result.alternatives:
            print(f"  or: {alternative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
