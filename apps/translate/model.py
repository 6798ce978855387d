"""Load translation models: converted Bergamot presets (bundled, runs, local) and T5 presets."""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apps.translate.config import MODELS
from apps.translate.decoding import MarianGenerator
from apps.translate.hub import HubTranslator
from apps.translate.search import Candidate, beam_search, greedy
from apps.translate.shortlist import Shortlist
from apps.translate.tokenizer import MarianTokenizer
from apps.translate.weights import METADATA_FILE, SHORTLIST_FILE
from shared.model_files import reports_load_failures
from shared.models import resolve_model_ref

LANGUAGE_NAMES = {
    "en": "English", "pt": "Portuguese", "es": "Spanish", "fr": "French", "it": "Italian",
    "de": "German", "ro": "Romanian",
}  # fmt: skip


def language_pair(direction):
    """The direction's languages by name, like "English → Portuguese" (unknown codes kept)."""
    source, _, target = direction.partition("-")
    return f"{LANGUAGE_NAMES.get(source, source)} → {LANGUAGE_NAMES.get(target, target)}"


@dataclass
class LoadedTranslator:
    """A Marian (Bergamot-architecture) model ready to translate sentences.

    Attributes:
        backbone: the ``MarianBackbone``.
        tokenizer: its ``MarianTokenizer``.
        generator: ``MarianGenerator`` (cached steps).
        shortlist: a ``Shortlist`` or None (score the whole vocabulary).
        metadata: the preset's ``transferzoo.json``.
        ref: the model reference it was loaded from.
    """

    backbone: object
    tokenizer: object
    generator: object
    shortlist: object
    metadata: dict
    ref: str
    max_source_tokens: int = 256
    batch_size: int = 32

    @property
    def direction(self):
        """Like "en-pt"."""
        return f"{self.metadata['source_language']}-{self.metadata['target_language']}"

    def encode(self, sentences):
        """Source ids per sentence, cut to ``max_source_tokens`` (``</s>`` kept last)."""
        encoded = self.tokenizer.encode_batch(sentences)
        limit = self.max_source_tokens
        return [ids if len(ids) <= limit else ids[: limit - 1] + ids[-1:] for ids in encoded]

    def translate_sentences(self, sentences, beam_size=1, num_alternatives=1, progress=None):
        """Translate single sentences in length-sorted batches.

        ``progress(done, total)`` is called after every batch (for progress bars).

        Returns:
            Per sentence, a list of up to ``num_alternatives`` ``Candidate``, best first.
        """
        sequences = self.encode(sentences)
        factor = float(self.metadata.get("max_length_factor", 2.5))
        results = [None] * len(sequences)
        order = np.argsort([len(ids) for ids in sequences], kind="stable")
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = [sequences[row] for row in rows]
            if beam_size <= 1:
                found = [[h] for h in greedy(self.generator, batch, factor, self.shortlist)]
            else:
                found = beam_search(
                    self.generator, batch, beam_size, factor, shortlist=self.shortlist
                )
            for row, hypotheses in zip(rows, found):
                results[row] = [
                    Candidate(self.tokenizer.decode_ids(h.tokens), round(h.score, 4))
                    for h in hypotheses[: max(1, num_alternatives)]
                ]
            if progress is not None:
                progress(min(start + self.batch_size, len(order)), len(order))
        return results


def load_preset_directory(directory, ref):
    """A ``LoadedTranslator`` from a converted or fine-tuned preset directory."""
    import keras_hub

    directory = Path(directory)
    if not (directory / METADATA_FILE).is_file():
        raise ValueError(f"{ref}: {directory} is not a translation preset (no {METADATA_FILE})")
    metadata = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
    backbone = keras_hub.models.Backbone.from_preset(str(directory))
    tokenizer = MarianTokenizer.from_preset(str(directory))
    use_shortlist = metadata.get("shortlist", True) and (directory / SHORTLIST_FILE).is_file()
    shortlist = Shortlist(directory / SHORTLIST_FILE) if use_shortlist else None
    return LoadedTranslator(
        backbone, tokenizer, MarianGenerator(backbone), shortlist, metadata, ref
    )


@reports_load_failures
def load_translator(ref=None, *, runs_dir=None, target_language=None):
    """Load a translation model from any reference (see ``shared.models``).

    Args:
        ref: model reference; None means ``bundled:bergamot_en_pt``.
        runs_dir: runs registry root.
        target_language: for multilingual hub presets (T5): "German", "French", "Romanian".

    Returns:
        A ``LoadedTranslator`` (or ``HubTranslator`` for keras-hub presets).
    """
    resolved = resolve_model_ref(ref, MODELS, runs_dir=runs_dir)
    if resolved.kind == "preset":
        return HubTranslator.load(resolved.location, target_language=target_language)
    return load_preset_directory(resolved.location, resolved.ref)
