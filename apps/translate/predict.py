"""Translate text: sentence splitting, batched cached decoding; the predict CLI."""

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from apps.translate.model import load_translator
from apps.translate.text import MAX_CHARACTERS, clean_text, decode_text_bytes, split_sentences
from shared.cli import report_error

DIRECTION_MODELS = {"en-pt": "bundled:bergamot_en_pt", "pt-en": "bundled:bergamot_pt_en"}
MAX_BEAM_SIZE = 8
# Greedy warm-up batches of different sizes and lengths (English or not, any text will do).
WARM_UP = (["Hello."], ["Good morning, how are you today?", "Thank you."])


@dataclass
class Translation:
    """A translated text, sentence by sentence, with alternatives when beam search ran."""

    translation: str
    model: str
    latency_ms: float
    source_text: str  # the text translated, as cleaned
    direction: str
    source: str | None = None  # where the text came from (a file name), when given
    alternatives: list = field(default_factory=list)  # whole-text alternatives, best first
    sentences: list = field(default_factory=list)  # [{source, translation, alternatives}]

    def to_dict(self):
        """JSON-ready dict (the CLI's ``--json`` line)."""
        return asdict(self)

    def sentence_rows(self):
        """Per sentence: source, best translation and its score (a table's rows)."""
        return [
            {
                "source": s["source"],
                "translation": s["translation"],
                "score": s["alternatives"][0]["score"],
            }
            for s in self.sentences
        ]

    def alternative_rows(self):
        """Every candidate of every sentence, ranked (a table's rows)."""
        return [
            {
                "sentence": number,
                "rank": rank,
                "alternative": option["text"],
                "score": option["score"],
            }
            for number, sentence in enumerate(self.sentences, start=1)
            for rank, option in enumerate(sentence["alternatives"], start=1)
        ]


def _join(pieces, texts):
    return "".join(text + separator for text, (_, separator) in zip(texts, pieces)).strip()


class Predictor:
    """Translate with one loaded model; the CLI, the UI and the tests share it."""

    def __init__(self, loaded):
        self.loaded = loaded

    @classmethod
    def load(cls, ref=None, *, runs_dir=None, target_language=None):
        """Load ``ref`` (default ``bundled:bergamot_en_pt``) and warm its decoding steps.

        Warm-up batches of two sizes and lengths leave the greedy steps traced for any
        shape, so a user's first sentence does not wait for a trace (about 1 s).
        """
        predictor = cls(load_translator(ref, runs_dir=runs_dir, target_language=target_language))
        for sentences in WARM_UP:  # two shapes: the steps are traced once more, shape-free
            predictor.loaded.translate_sentences(sentences)
        return predictor

    def predict(
        self,
        text,
        *,
        beam_size=1,
        num_alternatives=1,
        max_characters=MAX_CHARACTERS,
        progress=None,
        source=None,
    ):
        """Translate ``text`` (any length up to ``max_characters``); ``progress(done, total)``
        is called as sentence batches finish; ``source`` (a file name, say) is reported back.

        Raises:
            TextError: empty, whitespace-only or too long input (a clear message).
            ValueError: a bad ``beam_size``.
        """
        if not 1 <= beam_size <= MAX_BEAM_SIZE:
            raise ValueError(f"beam_size must be 1..{MAX_BEAM_SIZE}, received {beam_size}")
        text = clean_text(text, max_characters)
        start = time.perf_counter()
        pieces = split_sentences(text)
        found = self.loaded.translate_sentences(
            [sentence for sentence, _ in pieces], beam_size, max(1, num_alternatives), progress
        )
        elapsed = time.perf_counter() - start
        count = max(len(candidates) for candidates in found)
        alternatives = [
            _join(pieces, [c[min(rank, len(c) - 1)].text for c in found]) for rank in range(count)
        ]
        sentences = [
            {
                "source": sentence,
                "translation": candidates[0].text,
                "alternatives": [asdict(candidate) for candidate in candidates],
            }
            for (sentence, _), candidates in zip(pieces, found)
        ]
        return Translation(
            translation=alternatives[0],
            model=self.loaded.ref,
            latency_ms=elapsed * 1000,
            source_text=text,
            direction=self.loaded.direction,
            source=source,
            alternatives=alternatives[1:] if beam_size > 1 else [],
            sentences=sentences,
        )


def _inputs(args):
    """``(text, source)`` of each input: the texts given (no source), then each file's."""
    inputs = [(text, None) for text in args.texts]
    for path in args.file or ():
        inputs.append((decode_text_bytes(Path(path).read_bytes(), name=path), path))
    if not inputs:
        raise ValueError("give the text to translate, or --file FILE")
    return inputs


def main(argv=None):
    """``python -m apps.translate.predict "TEXT" [--file F] [--model REF] [--json]``."""
    parser = argparse.ArgumentParser(prog="python -m apps.translate.predict")
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="text to translate")
    parser.add_argument("--file", action="append", help="a UTF-8 text file (repeatable)")
    parser.add_argument("--direction", choices=sorted(DIRECTION_MODELS), default="en-pt")
    parser.add_argument("--model", default=None, help="model reference (default per direction)")
    parser.add_argument("--target-language", default=None, help="T5 presets: German|French|...")
    parser.add_argument("--beam-size", type=int, default=1, help="1 = greedy (default)")
    parser.add_argument("--alternatives", type=int, default=1, help="candidates to return")
    parser.add_argument(
        "--max-characters", type=int, default=MAX_CHARACTERS, help="longest text accepted"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per input")
    parser.add_argument("--runs-dir", default=None, help="runs registry root")
    args = parser.parse_args(argv)
    try:
        inputs = _inputs(args)
        model = args.model or DIRECTION_MODELS[args.direction]
        predictor = Predictor.load(
            model, runs_dir=args.runs_dir, target_language=args.target_language
        )
        options = dict(
            beam_size=args.beam_size,
            num_alternatives=args.alternatives,
            max_characters=args.max_characters,
        )
        results = [predictor.predict(text, source=source, **options) for text, source in inputs]
    except (ValueError, OSError) as error:
        return report_error(error)
    for result in results:
        print(json.dumps(result.to_dict(), ensure_ascii=False) if args.json else result.translation)
        for alternative in [] if args.json else result.alternatives:
            print(f"  or: {alternative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
