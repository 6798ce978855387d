"""Marian's binary lexical shortlist: the output words a source sentence may produce.

The Bergamot students are trained and run with a shortlist: the ``first`` most frequent
target ids plus, for every source id, its ``best`` likeliest translations. Scoring only
those ids is what the native engine does (and it is much faster than the 32k softmax).
File layout (``lex.*.s2t.bin``): six uint64 (magic, checksum, first, best, offsets count,
lists count), the uint64 offsets of each source id's list, then the uint32 target ids.
"""

import struct
from pathlib import Path

import numpy as np

MAGIC = 0xF11A48D5013417F5
BUCKET = 256  # shortlist lengths are padded to a multiple: few compiled shapes


class Shortlist:
    """Per-sentence output vocabularies from a Marian binary shortlist file."""

    def __init__(self, path):
        data = Path(path).read_bytes()
        if len(data) < 48:
            raise ValueError(f"{path}: too short for a Marian shortlist")
        magic, _, self.first, self.best, offsets, lists = struct.unpack_from("<6Q", data, 0)
        if magic != MAGIC or len(data) != 48 + 8 * offsets + 4 * lists:
            raise ValueError(f"{path}: not a Marian binary shortlist")
        self.offsets = np.frombuffer(data, np.uint64, offsets, 48).astype(np.int64)
        self.lists = np.frombuffer(data, np.uint32, lists, 48 + 8 * offsets).astype(np.int32)

    def ids(self, source_ids):
        """Sorted target ids allowed for one source sentence (ids incl. ``</s>``)."""
        parts = [np.arange(self.first, dtype=np.int32)]
        for token in source_ids:
            if 0 <= token < len(self.offsets) - 1:
                parts.append(self.lists[self.offsets[token] : self.offsets[token + 1]])
        return np.unique(np.concatenate(parts))

    def batch(self, sequences):
        """(ids, bias) for a batch: the union of the sentences' shortlists, padded to a
        multiple of ``BUCKET``, and a (sentences, ids) bias that is 0 where a sentence may
        use the id and -1e9 elsewhere, so batching never changes a sentence's choices."""
        per_sentence = [self.ids(sequence) for sequence in sequences]
        union = np.unique(np.concatenate(per_sentence))
        size = -(-len(union) // BUCKET) * BUCKET
        ids = np.concatenate([union, np.zeros(size - len(union), np.int32)])
        bias = np.full((len(sequences), size), -1e9, np.float32)
        for row, allowed in enumerate(per_sentence):
            bias[row, np.searchsorted(union, allowed)] = 0.0
        return ids.astype(np.int32), bias
