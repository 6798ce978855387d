"""The Bergamot "tiny" translation model in Keras: a transformer encoder and an SSRU decoder.

Marian's transformer with ``dec-cell: ssru``: the encoder is keras-hub's post-norm
``TransformerEncoder``; each decoder layer replaces self-attention with a Simpler Simple
Recurrent Unit (f = σ(xW_f + b_f); c = f·c + (1−f)·xW; h = ReLU(c)), then cross-attention and
a feed-forward block, each followed by add & norm. All embeddings (source, target, output)
are one tied matrix with an output bias; tokens are scaled by √d and get Marian's
[sin, cos] positions; the decoder starts from a zero embedding.
"""

import math

import keras
import keras_hub
from keras import ops

PACKAGE = "transferzoo"


def sinusoidal_positions(start, length, hidden_dim):
    """Marian's position signal: [sin(p·w_i), cos(p·w_i)], w_i = 10000^(-i / (d/2 - 1))."""
    half = hidden_dim // 2
    increment = math.log(10000.0) / (half - 1)
    positions = ops.cast(ops.arange(length), "float32") + ops.cast(start, "float32")
    frequencies = ops.exp(ops.cast(ops.arange(half), "float32") * -increment)
    angles = positions[:, None] * frequencies[None, :]
    return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class MarianEmbedding(keras.layers.Layer):
    """The tied token embedding: scaled lookups with positions, and output logits with a bias.

    Args:
        vocabulary_size: number of SentencePiece ids.
        hidden_dim: model width.
    """

    def __init__(self, vocabulary_size, hidden_dim, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim

    def build(self, input_shape=None):
        shape = (self.vocabulary_size, self.hidden_dim)
        self.embeddings = self.add_weight(shape=shape, name="embeddings", initializer="uniform")
        self.output_bias = self.add_weight(
            shape=(self.vocabulary_size,), name="output_bias", initializer="zeros"
        )

    def call(self, token_ids, start_index=0, zero_first=False, reverse=False):
        """Embeddings × √d plus positions from ``start_index``; position 0 is the zero
        start embedding when ``zero_first`` (the decoder's input). With ``reverse``, the
        input is hidden states and the output their logits (the tied output layer)."""
        if reverse:
            return self.logits(token_ids)
        x = ops.take(self.embeddings, ops.cast(token_ids, "int32"), axis=0)
        if zero_first:
            position = ops.arange(ops.shape(token_ids)[1]) + start_index
            x = x * ops.cast(position > 0, x.dtype)[None, :, None]
        x = x * math.sqrt(self.hidden_dim)
        positions = sinusoidal_positions(start_index, ops.shape(token_ids)[1], self.hidden_dim)
        return x + ops.cast(positions, x.dtype)[None]

    def logits(self, hidden, vocabulary_ids=None):
        """Output logits; only over ``vocabulary_ids`` (a shortlist) when given."""
        embeddings, bias = self.embeddings, self.output_bias
        if vocabulary_ids is not None:
            embeddings = ops.take(embeddings, vocabulary_ids, axis=0)
            bias = ops.take(bias, vocabulary_ids, axis=0)
        logits = ops.matmul(hidden, ops.transpose(ops.cast(embeddings, hidden.dtype)))
        return ops.cast(logits, "float32") + bias

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size, hidden_dim=self.hidden_dim)
        return config


def _recurrence_step(cell, inputs):
    forget, update = inputs
    cell = forget * cell + update
    return cell, cell


@keras.saving.register_keras_serializable(package=PACKAGE)
class SSRU(keras.layers.Layer):
    """Simpler Simple Recurrent Unit (Kim et al. 2019), Marian's ``ssru`` decoder cell.

    ``call(x, initial_state)`` returns (h for every step, the last cell state c). Over a
    whole sequence the linear recurrence runs as a scan over time; one step with
    the cached state is the same formula, so step-wise decoding equals the full pass.
    """

    def __init__(self, hidden_dim, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.kernel = self.add_weight(shape=(dim, self.hidden_dim), name="kernel")
        self.forget_kernel = self.add_weight(shape=(dim, self.hidden_dim), name="forget_kernel")
        self.forget_bias = self.add_weight(
            shape=(self.hidden_dim,), name="forget_bias", initializer="zeros"
        )

    def call(self, inputs, initial_state=None):
        forget = ops.sigmoid(ops.matmul(inputs, self.forget_kernel) + self.forget_bias)
        update = (1.0 - forget) * ops.matmul(inputs, self.kernel)
        if initial_state is not None:  # c_1 = f_1 · c_0 + (1 − f_1) · x_1 W
            first = update[:, :1] + forget[:, :1] * initial_state[:, None]
            update = ops.concatenate([first, update[:, 1:]], axis=1)
        if update.shape[1] == 1:
            cells = update
        else:  # a time-major scan of cheap element-wise steps (needs a known length)
            steps = (ops.moveaxis(forget, 1, 0), ops.moveaxis(update, 1, 0))
            _, cells = ops.scan(_recurrence_step, ops.zeros_like(update[:, 0]), steps)
            cells = ops.moveaxis(cells, 0, 1)
        return ops.relu(cells), cells[:, -1]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.hidden_dim,), (input_shape[0], self.hidden_dim)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_dim=self.hidden_dim)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class SSRUDecoderLayer(keras.layers.Layer):
    """SSRU → add & norm → cross-attention → add & norm → feed-forward → add & norm.

    Args:
        hidden_dim, num_heads, intermediate_dim: sizes.
        layer_norm_epsilon: the norms' epsilon.
        dropout: dropout after each block while training.
    """

    def __init__(
        self, hidden_dim, num_heads, intermediate_dim, layer_norm_epsilon=1e-6, dropout=0.0, **kw
    ):
        super().__init__(**kw)
        self.hidden_dim, self.num_heads = hidden_dim, num_heads
        self.intermediate_dim, self.layer_norm_epsilon = intermediate_dim, layer_norm_epsilon
        self.dropout = dropout
        norm = dict(epsilon=layer_norm_epsilon, dtype=self.dtype_policy)
        self.ssru = SSRU(hidden_dim, dtype=self.dtype_policy, name="ssru")
        self.ssru_norm = keras.layers.LayerNormalization(name="ssru_norm", **norm)
        self.cross_attention = keras_hub.layers.CachedMultiHeadAttention(
            num_heads, hidden_dim // num_heads, dtype=self.dtype_policy, name="cross_attention"
        )
        self.cross_norm = keras.layers.LayerNormalization(name="cross_norm", **norm)
        self.ffn_inner = keras.layers.Dense(
            intermediate_dim, activation="relu", dtype=self.dtype_policy, name="ffn_inner"
        )
        self.ffn_outer = keras.layers.Dense(hidden_dim, dtype=self.dtype_policy, name="ffn_outer")
        self.ffn_norm = keras.layers.LayerNormalization(name="ffn_norm", **norm)
        self.drop = keras.layers.Dropout(dropout)

    def build(self, x_shape, encoder_sequence_shape=None):
        input_shape, encoder_shape = x_shape, encoder_sequence_shape or x_shape
        self.ssru.build(input_shape)
        self.ssru_norm.build(input_shape)
        self.cross_attention.build(input_shape, encoder_shape)
        self.cross_norm.build(input_shape)
        self.ffn_inner.build(input_shape)
        self.ffn_outer.build(tuple(input_shape[:-1]) + (self.intermediate_dim,))
        self.ffn_norm.build(input_shape)

    def call(
        self,
        x,
        encoder_sequence,
        encoder_padding_mask=None,
        state=None,
        cross_cache=None,
        cross_cache_update_index=None,
        return_state=False,
        training=None,
    ):
        """The output; with ``return_state``, (output, last SSRU state, cross cache)."""
        recurrent, new_state = self.ssru(x, initial_state=state)
        x = self.ssru_norm(x + self.drop(recurrent, training=training))
        mask = None
        if encoder_padding_mask is not None:
            mask = ops.cast(encoder_padding_mask, "bool")[:, None, :]
            mask = ops.broadcast_to(mask, (ops.shape(x)[0], ops.shape(x)[1], ops.shape(mask)[-1]))
        attended = self.cross_attention(
            x,
            encoder_sequence,
            attention_mask=mask,
            cache=cross_cache,
            cache_update_index=cross_cache_update_index,
            training=training,
        )
        if cross_cache is not None:
            attended, cross_cache = attended
        x = self.cross_norm(x + self.drop(attended, training=training))
        inner = self.ffn_outer(self.ffn_inner(x))
        x = self.ffn_norm(x + self.drop(inner, training=training))
        return (x, new_state, cross_cache) if return_state else x

    def compute_output_shape(self, x_shape, *args, **kwargs):
        return x_shape  # the functional graph never asks for the state

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_dim=self.hidden_dim,
            num_heads=self.num_heads,
            intermediate_dim=self.intermediate_dim,
            layer_norm_epsilon=self.layer_norm_epsilon,
            dropout=self.dropout,
        )
        return config
