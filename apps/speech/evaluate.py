"""Word error rate of a speech model on (audio, transcript) pairs; the evaluate CLI."""

import re
import sys
import unicodedata

from apps.speech.config import EvaluateConfig
from apps.speech.data import read_manifest
from apps.speech.predictor import Predictor
from shared.audio import decode_audio
from shared.cli import parse_command, print_report

_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
_TENS = {
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
NUMBER_WORDS = {word: str(value) for value, word in enumerate(_NUMBERS)} | {
    word: str(value) for word, value in _TENS.items()
}


def normalize_text(text):
    """Lower-case, spell numbers as digits, drop punctuation: the form WER is computed on.

    Whisper writes "10 of clubs" where a reference says "ten of clubs"; both become
    "10 of clubs". Hyphens and apostrophes split or join words the way references do.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[-–—/]", " ", text).replace("'", "")
    text = re.sub(r"[^\w\s]", " ", text)
    words = [NUMBER_WORDS.get(word, word) for word in text.split()]
    return " ".join(words)


def word_error_rate(references, hypotheses):
    """Corpus WER (``jiwer``) after ``normalize_text`` on both sides."""
    import jiwer

    references = [normalize_text(text) for text in references]
    hypotheses = [normalize_text(text) for text in hypotheses]
    pairs = [(r, h) for r, h in zip(references, hypotheses) if r]
    if not pairs:
        raise ValueError("no non-empty reference transcript to score against")
    return float(jiwer.wer([r for r, _ in pairs], [h for _, h in pairs]))


def evaluate(ref, source, *, beam_size=1, runs_dir=None, limit=None):
    """Transcribe every clip of a manifest (or the held-out split of a run's data) and
    score it.

    Returns:
        ``{"wer", "num_clips", "model", "examples": [{path, reference, hypothesis}]}``.
    """
    pairs = read_manifest(source)[:limit]
    predictor = Predictor.load(ref, runs_dir=runs_dir)
    examples = []
    for path, reference in pairs:
        text = predictor.predict(decode_audio(path), beam_size=beam_size).text
        examples.append({"path": str(path), "reference": reference, "hypothesis": text})
    wer = word_error_rate([e["reference"] for e in examples], [e["hypothesis"] for e in examples])
    return {
        "wer": wer,
        "num_clips": len(examples),
        "model": predictor.loaded.ref,
        "examples": examples,
    }


def describe(report):
    """Each clip's reference and hypothesis, then the corpus WER, as text."""
    lines = [
        f"{e['path']}\n  ref: {e['reference']}\n  hyp: {e['hypothesis']}"
        for e in report["examples"]
    ]
    lines.append(f"{report['model']}: WER {report['wer']:.3f} on {report['num_clips']} clips")
    return "\n".join(lines)


def main(argv=None):
    """``python -m apps.speech.evaluate --model REF --data MANIFEST [--json]``; the flags
    (or a ``--config`` file) are ``EvaluateConfig``'s."""
    config = parse_command(EvaluateConfig, argv, prog="python -m apps.speech.evaluate")
    return print_report(
        lambda: evaluate(
            config.model,
            config.data,
            beam_size=config.beam_size,
            runs_dir=config.runs_dir,
            limit=config.limit,
        ),
        as_json=config.json,
        describe=describe,
    )


if __name__ == "__main__":
    sys.exit(main())
