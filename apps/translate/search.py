"""Greedy and beam search over ``MarianGenerator`` steps, batched, Marian's stopping rules.

A sentence may generate at most ``max_length_factor`` × its source length tokens (``</s>``
included). Beam search follows Marian: a hypothesis that ends in ``</s>`` leaves the beam,
which then shrinks, until no live hypothesis is left; hypotheses are ranked by their
log-probability divided by length ** ``length_penalty`` (1.0: per-token average).
"""

from dataclasses import dataclass, field

import numpy as np
from keras import ops

EOS_ID = 0


@dataclass
class Hypothesis:
    """Output ids (without ``</s>``), summed log-probability and normalised score."""

    tokens: list = field(default_factory=list)
    log_prob: float = 0.0
    score: float = 0.0


@dataclass
class Candidate:
    """One translation of one sentence and its length-normalised log-probability."""

    text: str
    score: float


def pad_batch(sequences, pad_id=EOS_ID):
    """(ids, mask) int32 arrays of equal-length rows from a list of id lists."""
    length = max(len(ids) for ids in sequences)
    ids = np.full((len(sequences), length), pad_id, "int32")
    mask = np.zeros((len(sequences), length), "int32")
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = 1
    return ids, mask


def max_lengths(sequences, factor):
    """Most output tokens (``</s>`` included) per source sentence."""
    return [max(2, int(factor * len(ids))) for ids in sequences]


def greedy(generator, sequences, max_length_factor=2.5, shortlist=None):
    """Greedy decoding of a batch of source id lists; one ``Hypothesis`` per sentence."""
    ids, mask = pad_batch(sequences)
    limits = np.asarray(max_lengths(sequences, max_length_factor))
    vocabulary = shortlist.batch(sequences) if shortlist is not None else None
    encoded = generator.encode(ids, mask)
    values, indices, states, caches = generator.first(encoded, mask, 1, vocabulary)
    tokens, log_probs = indices[:, 0], values[:, 0].astype("float64")
    outputs = [[int(token)] for token in tokens]
    done = (tokens == EOS_ID) | (limits <= 1)
    parents = np.arange(len(sequences))
    for index in range(1, int(limits.max())):
        if done.all():
            break
        values, indices, states = generator.next(
            tokens, index, encoded, mask, states, caches, parents, 1, vocabulary
        )
        tokens = np.where(done, EOS_ID, indices[:, 0])
        log_probs += np.where(done, 0.0, values[:, 0])
        for row in np.flatnonzero(~done):
            outputs[row].append(int(tokens[row]))
        done |= (tokens == EOS_ID) | (index + 1 >= limits)
    return [
        Hypothesis([t for t in out if t != EOS_ID], float(lp), float(lp) / len(out))
        for out, lp in zip(outputs, log_probs)
    ]


class _Beams:
    """Book-keeping of one sentence's beam: live rows and finished hypotheses."""

    def __init__(self, width, limit, length_penalty):
        self.width, self.limit, self.length_penalty = width, limit, length_penalty
        self.tokens = [[] for _ in range(width)]
        self.scores = np.full(width, -np.inf)
        self.finished = []

    def finish(self, tokens, log_prob):
        score = log_prob / len(tokens) ** self.length_penalty
        self.finished.append(Hypothesis(tokens[:-1], float(log_prob), float(score)))

    def update(self, candidates, step):
        """Take the best candidates (log_prob, parent, token); return the parent per row."""
        live = self.width - len(self.finished)
        parents = np.zeros(self.width, "int64")
        tokens, scores = [[] for _ in range(self.width)], np.full(self.width, -np.inf)
        row = 0
        for log_prob, parent, token in sorted(candidates, reverse=True)[: max(live, 0)]:
            path = self.tokens[parent] + [int(token)]
            if token == EOS_ID or step + 1 >= self.limit:
                self.finish(path if token == EOS_ID else path + [EOS_ID], log_prob)
                continue
            tokens[row], scores[row], parents[row] = path, log_prob, parent
            row += 1
        self.tokens, self.scores = tokens, scores
        return parents

    @property
    def done(self):
        return not np.isfinite(self.scores).any()

    def ranked(self):
        return sorted(self.finished, key=lambda h: h.score, reverse=True)


def _candidates(beams, values, indices, offset, width):
    rows = range(offset, offset + width)
    return [
        (beams.scores[k] + values[row, j], k, int(indices[row, j]))
        for k, row in enumerate(rows)
        if np.isfinite(beams.scores[k])
        for j in range(values.shape[1])
    ]


def beam_search(
    generator, sequences, beam_size=4, max_length_factor=2.5, length_penalty=1.0, shortlist=None
):
    """Beam search for a batch; per sentence, its finished hypotheses best first."""
    ids, mask = pad_batch(sequences)
    limits = max_lengths(sequences, max_length_factor)
    vocabulary = shortlist.batch(sequences) if shortlist is not None else None
    encoded = generator.encode(ids, mask)
    values, indices, states, caches = generator.first(encoded, mask, beam_size, vocabulary)
    beams = [_Beams(beam_size, limit, length_penalty) for limit in limits]
    parents = []
    for b, beam in enumerate(beams):
        beam.scores[0] = 0.0  # one live row: the start state
        beam.update([(float(values[b, j]), 0, int(indices[b, j])) for j in range(beam_size)], 0)
        parents.extend([b] * beam_size)  # every row starts from sentence b's state
    encoded, caches = (
        ops.repeat(encoded, beam_size, axis=0),
        tuple(ops.repeat(cache, beam_size, axis=0) for cache in caches),
    )
    mask = np.repeat(mask, beam_size, axis=0)
    if vocabulary is not None:
        vocabulary = (vocabulary[0], np.repeat(vocabulary[1], beam_size, axis=0))
    for index in range(1, max(limits)):
        if all(beam.done for beam in beams):
            break
        tokens = [(beam.tokens[k] or [EOS_ID])[-1] for beam in beams for k in range(beam_size)]
        values, indices, states = generator.next(
            tokens, index, encoded, mask, states, caches, parents, 2 * beam_size, vocabulary
        )
        parents = []
        for b, beam in enumerate(beams):
            offset = b * beam_size
            if beam.done:
                parents.extend(range(offset, offset + beam_size))
                continue
            chosen = beam.update(_candidates(beam, values, indices, offset, beam_size), index)
            parents.extend(offset + chosen)
    return [beam.ranked() for beam in beams]
