"""The translator's ``Predictor``: sentence splitting, batched cached decoding."""

import time
from dataclasses import asdict, dataclass, field

from apps.translate.model import load_translator
from apps.translate.text import MAX_CHARACTERS, clean_text, split_sentences
from shared.results import Result

DIRECTION_MODELS = {"en-pt": "bundled:bergamot_en_pt", "pt-en": "bundled:bergamot_pt_en"}


MAX_BEAM_SIZE = 8


# Greedy warm-up batches of different sizes and lengths (English or not, any text will do).
WARM_UP = (["Hello."], ["Good morning, how are you today?", "Thank you."])


@dataclass(kw_only=True)
class Translation(Result):
    """A translated text, sentence by sentence, with alternatives when beam search ran.

    ``source`` is where the text came from (a file name), when given.

    Attributes:
        translation: the whole text translated.
        source_text: the text translated, as cleaned.
        direction: like "en-pt".
        alternatives: other whole-text translations, best first (beam search only).
        sentences: per sentence, ``{"source", "translation", "alternatives"}`` with each
            alternative ``{"text", "score"}``, best first.
    """

    translation: str
    source_text: str
    direction: str
    alternatives: list[str] = field(default_factory=list)
    sentences: list[dict] = field(default_factory=list)

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
