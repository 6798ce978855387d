"""Step-wise decoding of a ``MarianBackbone`` with caches, compiled once per shape.

The encoder runs once per batch. Step 0 fills each decoder layer's cross-attention cache
(keys/values of the source) and starts every SSRU from a zero state; each later step feeds
one token, carries the SSRU states (the decoder's only recurrent cache: one vector per
layer) and reuses the cross caches unchanged. Beam search reorders the states in-graph
and reads only each row's top candidates, never the whole vocabulary on the host.
"""

import numpy as np
from keras import ops

from shared.devices import compile_step

NEG_INF = -1e9


def _log_softmax(logits):
    return logits - ops.logsumexp(logits, axis=-1, keepdims=True)


class MarianGenerator:
    """Cached greedy / beam steps for a ``MarianBackbone``.

    Every step takes an optional ``vocabulary``: (ids (K,), bias (rows, K)) from a
    shortlist. Only those output ids are scored, the bias masking per row; returned token
    ids are always full-vocabulary ids.

    Args:
        backbone: the ``MarianBackbone``.
    """

    def __init__(self, backbone):
        self.backbone = backbone
        self._encode = compile_step(self._encode_function, reduce_retracing=True)
        self._first = compile_step(self._first_function, reduce_retracing=True)
        self._next = compile_step(self._next_function, reduce_retracing=True)

    def _encode_function(self, token_ids, padding_mask):
        return self.backbone.encode(token_ids, padding_mask, training=False)

    def _layers(self, x, index, encoded, mask, states, caches, update_index):
        new_states, new_caches = [], []
        for layer, state, cache in zip(self.backbone.decoder_layers, states, caches):
            x, state, cache = layer(
                x,
                encoded,
                mask,
                state=state,
                cross_cache=cache,
                cross_cache_update_index=update_index,
                return_state=True,
                training=False,
            )
            new_states.append(state)
            new_caches.append(cache)
        return x, tuple(new_states), tuple(new_caches)

    def _scores(self, hidden, width, vocabulary):
        if vocabulary is None:
            logits = self.backbone.token_embedding.logits(hidden[:, 0])
            return ops.top_k(_log_softmax(logits), width)
        ids, bias = vocabulary
        logits = self.backbone.token_embedding.logits(hidden[:, 0], ids) + bias
        values, indices = ops.top_k(_log_softmax(logits), width)
        return values, ops.take(ids, indices, axis=0)

    def _first_function(self, encoded, mask, width, vocabulary):
        batch = ops.shape(encoded)[0]
        backbone = self.backbone
        heads = (backbone.num_heads, backbone.hidden_dim // backbone.num_heads)
        cache_shape = (batch, 2, ops.shape(encoded)[1]) + heads
        caches = tuple(ops.zeros(cache_shape, encoded.dtype) for _ in backbone.decoder_layers)
        states = tuple(
            ops.zeros((batch, backbone.hidden_dim), encoded.dtype) for _ in backbone.decoder_layers
        )
        tokens = ops.zeros((batch, 1), "int32")
        x = backbone.token_embedding(tokens, start_index=0, zero_first=True)
        x, states, caches = self._layers(x, 0, encoded, mask, states, caches, 0)
        values, indices = self._scores(x, width, vocabulary)
        return values, indices, states, caches

    def _next_function(self, tokens, index, encoded, mask, states, caches, parents, width, vocab):
        states = tuple(ops.take(state, parents, axis=0) for state in states)
        x = self.backbone.token_embedding(tokens[:, None], start_index=index)
        x, states, _ = self._layers(x, index, encoded, mask, states, caches, None)
        values, indices = self._scores(x, width, vocab)
        return values, indices, states

    def encode(self, token_ids, padding_mask):
        """Encoder states of padded (batch, length) ids and their mask."""
        return self._encode(np.asarray(token_ids, "int32"), np.asarray(padding_mask, "int32"))

    def first(self, encoded, mask, width, vocabulary=None):
        """Step 0: (top ``width`` log-probs, their ids, SSRU states, cross caches)."""
        mask = np.asarray(mask, "int32")
        values, indices, states, caches = self._first(encoded, mask, width, vocabulary)
        return np.asarray(values), np.asarray(indices), states, caches

    def next(self, tokens, index, encoded, mask, states, caches, parents, width, vocabulary=None):
        """One step from ``tokens`` at position ``index``, after reordering the states
        by ``parents`` (rows of the previous step): (log-probs, ids, new states)."""
        values, indices, states = self._next(
            np.asarray(tokens, "int32"),
            np.int32(index),
            encoded,
            np.asarray(mask, "int32"),
            states,
            caches,
            np.asarray(parents, "int32"),
            width,
            vocabulary,
        )
        return np.asarray(values), np.asarray(indices), states

    def logits_uncached(self, token_ids, padding_mask, decoder_ids):
        """Next-token logits after a full decoder pass over ``decoder_ids`` (the reference)."""
        hidden = self.backbone(
            {
                "encoder_token_ids": np.asarray(token_ids, "int32"),
                "encoder_padding_mask": np.asarray(padding_mask, "int32"),
                "decoder_token_ids": np.asarray(decoder_ids, "int32"),
            }
        )
        return ops.convert_to_numpy(self.backbone.token_embedding.logits(hidden[:, -1]))
