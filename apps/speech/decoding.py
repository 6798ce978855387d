"""Whisper decoding with a key/value cache: greedy and beam search, compiled once per shape.

keras-hub ships the Whisper backbone but no ``generate()``. Each decoding step here feeds a
single token: the decoder layers' self-attention keys/values live in a fixed-size cache that
is updated in place at the step's index, and the cross-attention keys/values of the audio are
computed once per window. The step function is traced once per (batch, cache) shape.
"""

from dataclasses import dataclass, field

import numpy as np

from shared.devices import compile_step

NEG_INF = -1e9


@dataclass(frozen=True)
class SpecialTokens:
    """Whisper's special token ids (tiny.en values by default)."""

    start_of_transcript: int = 50257
    end_of_text: int = 50256
    no_timestamps: int = 50362
    timestamp_begin: int = 50363
    transcribe: int | None = None  # multilingual models only
    translate: int | None = None
    space: int = 220
    no_speech: int | None = None  # <|nocaptions|> (<|nospeech|> in multilingual vocabularies)


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode one window.

    Attributes:
        beam_size: 1 is greedy; > 1 is beam search.
        max_new_tokens: most tokens generated per 30-second window.
        suppress_tokens: ids never generated (Whisper's config list).
        timestamps: generate segment timestamp tokens instead of ``<|notimestamps|>``.
        step_limit: stop after this many steps (None: ``max_new_tokens``); the caches
            still hold ``max_new_tokens`` (a warm-up traces the steps of the real shapes).
    """

    beam_size: int = 1
    max_new_tokens: int = 224
    suppress_tokens: tuple = ()
    timestamps: bool = False
    step_limit: int | None = None

    @property
    def steps(self):
        """Most decoding steps."""
        return min(self.step_limit or self.max_new_tokens, self.max_new_tokens)


@dataclass
class Hypothesis:
    """Generated token ids (without the prompt) and their summed log-probability."""

    tokens: list = field(default_factory=list)
    log_prob: float = 0.0

    @property
    def score(self):
        """Length-normalised log-probability (Whisper's default ranking)."""
        return self.log_prob / max(len(self.tokens), 1)


def _self_attention_block(layer, x, cache, index):
    """A Whisper decoder layer's pre-norm, causal, cached self-attention and its residual."""
    mask = layer._compute_self_attention_mask(
        decoder_sequence=x,
        decoder_padding_mask=None,
        decoder_attention_mask=None,
        use_causal_mask=True,
        self_attention_cache=cache,
        self_attention_cache_update_index=index,
    )
    normed = layer._self_attention_layer_norm(x)
    attended, cache = layer._self_attention_layer(
        query=normed, value=normed, attention_mask=mask, cache=cache, cache_update_index=index
    )
    return x + attended, cache


def _shared_cross_attention(layer, x, keys, values):
    """Cross-attention of every row of ``x`` (beams, 1, dim) to one window's ``keys`` and
    ``values`` (frames, heads, head_dim): broadcast instead of one copy per beam, as in
    keras' MultiHeadAttention (scaled dot product, softmax, output projection)."""
    from keras import ops

    attention = layer._cross_attention_layer
    query = attention._query_dense(layer._cross_attention_layer_norm(x))  # (b, 1, h, d)
    query = query * ops.cast(1.0 / np.sqrt(attention._key_dim), query.dtype)
    scores = ops.softmax(ops.einsum("bqhd,fhd->bhqf", query, keys), axis=-1)
    return attention._output_dense(ops.einsum("bhqf,fhd->bqhd", scores, values))


def log_softmax(logits):
    """Numerically stable log-softmax over the last axis (numpy)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class WhisperGenerator:
    """Greedy and beam-search decoding for a keras-hub ``WhisperBackbone``.

    Args:
        backbone: the ``WhisperBackbone``.
        special: its ``SpecialTokens``.
    """

    def __init__(self, backbone, special=SpecialTokens()):
        import keras

        self.backbone = backbone
        self.special = special
        self.max_length = backbone.max_decoder_sequence_length
        self.vocabulary_size = backbone.vocabulary_size
        self.encoder = keras.Model(
            backbone.input["encoder_features"], backbone.output["encoder_sequence_output"]
        )
        self._encode = compile_step(lambda features: self.encoder(features, training=False))
        self._prefill = compile_step(self._prefill_function)
        self._prefill_cached = compile_step(self._prefill_cached_function)
        self._step = compile_step(self._step_function)
        self._beam_step = compile_step(self._beam_step_function)

    def _decode(self, tokens, encoder_output, self_cache, index, cross_cache, cross_index):
        """Decoder layers with caches; returns (logits of the last token, caches)."""
        from keras import ops

        backbone = self.backbone
        x = backbone.decoder_embeddings(tokens, start_index=index)
        self_caches, cross_caches = [], []
        for i, layer in enumerate(backbone.decoder_transformer_layers):
            x, layer_self, layer_cross = layer(
                decoder_sequence=x,
                encoder_sequence=encoder_output,
                self_attention_cache=self_cache[:, i, ...],
                self_attention_cache_update_index=index,
                cross_attention_cache=cross_cache[:, i, ...],
                cross_attention_cache_update_index=cross_index,
                training=False,
            )
            self_caches.append(layer_self)
            cross_caches.append(layer_cross)
        hidden = backbone.decoder_layer_norm(x[:, -1:, :])
        logits = backbone.token_embedding(hidden, reverse=True)[:, 0, :]
        new_cross = ops.stack(cross_caches, axis=1) if cross_index is not None else cross_cache
        return ops.cast(logits, "float32"), ops.stack(self_caches, axis=1), new_cross

    def _prefill_function(self, tokens, encoder_output, self_cache, cross_cache):
        return self._decode(tokens, encoder_output, self_cache, 0, cross_cache, 0)

    def _prefill_cached_function(self, tokens, encoder_output, self_cache, cross_cache):
        """A prefill whose cross-attention keys/values were computed already (by ``start``)."""
        return self._decode(tokens, encoder_output, self_cache, 0, cross_cache, None)

    def start(self, encoder_output):
        """The first decoder pass of one window (batch 1): ``<|startoftranscript|>`` alone.

        Returns:
            ``(logits, cross_cache)``: the (vocabulary,) float32 logits of the token after
            it (the language tokens and Whisper's no-speech token live there) and the
            window's cross-attention keys/values, which ``greedy`` and ``beam_search`` take
            as ``cross_cache`` instead of computing them again.
        """
        tokens = np.asarray([[self.special.start_of_transcript]], "int32")
        self_cache, cross_cache = self.empty_caches(1, int(encoder_output.shape[1]), 1)
        logits, _, cross_cache = self._prefill(tokens, encoder_output, self_cache, cross_cache)
        return np.asarray(logits)[0], cross_cache

    def _step_function(self, tokens, encoder_output, self_cache, cross_cache, index):
        return self._decode(tokens, encoder_output, self_cache, index, cross_cache, None)

    def _beam_step_function(self, tokens, self_cache, cross_cache, index, rows):
        """A step of beams that all decode one window: ``self_cache`` rows are reordered
        to the beams they extend (``rows``) in-graph, and ``cross_cache`` is that window's
        (1, layers, 2, frames, heads, head_dim), attended by every beam without copies."""
        from keras import ops

        self_cache = ops.take(self_cache, rows, axis=0)
        backbone = self.backbone
        x = backbone.decoder_embeddings(tokens, start_index=index)
        self_caches = []
        for i, layer in enumerate(backbone.decoder_transformer_layers):
            x, layer_cache = _self_attention_block(layer, x, self_cache[:, i, ...], index)
            self_caches.append(layer_cache)
            x = x + _shared_cross_attention(layer, x, cross_cache[0, i, 0], cross_cache[0, i, 1])
            residual = x
            x = layer._feedforward_layer_norm(x)
            x = layer._feedforward_output_dense(layer._feedforward_intermediate_dense(x))
            x = x + residual
        hidden = backbone.decoder_layer_norm(x[:, -1:, :])
        logits = backbone.token_embedding(hidden, reverse=True)[:, 0, :]
        return ops.cast(logits, "float32"), ops.stack(self_caches, axis=1)

    def beam_step(self, tokens, self_cache, cross_cache, index, rows):
        """Logits and self-attention caches of ``tokens`` (beams, 1) of one window, each
        beam continuing the cache row ``rows[beam]``."""
        return self._beam_step(tokens, self_cache, cross_cache, index, rows)

    def empty_caches(self, batch_size, encoder_length, length=None):
        """Zero self-/cross-attention caches: (batch, layers, 2, length, heads, head_dim).

        ``length`` bounds the self-attention cache to the tokens a search can reach (prompt
        plus new tokens): beam search copies it at every step, so a short cache is cheap.
        """
        backbone = self.backbone
        head_dim = backbone.hidden_dim // backbone.num_heads
        shape = (batch_size, backbone.num_layers, 2)
        heads = (backbone.num_heads, head_dim)
        dtype = backbone.compute_dtype
        length = min(length or self.max_length, self.max_length)
        self_cache = np.zeros(shape + (length,) + heads, dtype)
        cross_cache = np.zeros(shape + (encoder_length,) + heads, dtype)
        return self_cache, cross_cache

    def encode(self, features):
        """Log-mel features (batch, frames, mels) → encoder states (batch, frames / 2, dim)."""
        return self._encode(np.asarray(features, "float32"))

    def logits_uncached(self, encoder_output, tokens):
        """Next-token logits from a full decoder pass over ``tokens`` (the slow reference)."""
        from keras import ops

        backbone = self.backbone
        x = backbone.decoder_embeddings(np.asarray(tokens, "int32"))
        for layer in backbone.decoder_transformer_layers:
            x = layer(decoder_sequence=x, encoder_sequence=encoder_output, training=False)
        hidden = backbone.decoder_layer_norm(x[:, -1:, :])
        return ops.convert_to_numpy(backbone.token_embedding(hidden, reverse=True)[:, 0, :])
