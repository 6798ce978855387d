"""``MarianBackbone``: a keras-hub ``Backbone`` (saved and loaded as a native preset)."""

import keras
import keras_hub

from apps.translate.layers import PACKAGE, MarianEmbedding, SSRUDecoderLayer


@keras.saving.register_keras_serializable(package=PACKAGE)
class MarianBackbone(keras_hub.models.Backbone):
    """Transformer encoder + SSRU decoder with tied embeddings (Marian "tiny" students).

    Inputs: ``encoder_token_ids``, ``encoder_padding_mask`` (batch, source length) and
    ``decoder_token_ids`` (batch, target length; position 0 is the start and is embedded
    as zeros). Output: the decoder's last hidden states; ``token_embedding.logits(h)``
    turns them into next-token logits.

    Args:
        vocabulary_size: shared SentencePiece vocabulary size.
        num_encoder_layers, num_decoder_layers: depths.
        hidden_dim, num_heads, intermediate_dim: widths.
        layer_norm_epsilon: epsilon of every layer norm.
        dropout: training dropout.
    """

    def __init__(
        self,
        vocabulary_size,
        num_encoder_layers=6,
        num_decoder_layers=2,
        hidden_dim=256,
        num_heads=8,
        intermediate_dim=1536,
        layer_norm_epsilon=1e-6,
        dropout=0.0,
        dtype=None,
        **kwargs,
    ):
        # === Layers ===
        self.token_embedding = MarianEmbedding(
            vocabulary_size, hidden_dim, dtype=dtype, name="token_embedding"
        )
        self.encoder_layers = [
            keras_hub.layers.TransformerEncoder(
                intermediate_dim,
                num_heads,
                dropout=dropout,
                activation="relu",
                layer_norm_epsilon=layer_norm_epsilon,
                dtype=dtype,
                name=f"encoder_layer_{index}",
            )
            for index in range(num_encoder_layers)
        ]
        self.decoder_layers = [
            SSRUDecoderLayer(
                hidden_dim,
                num_heads,
                intermediate_dim,
                layer_norm_epsilon,
                dropout,
                dtype=dtype,
                name=f"decoder_layer_{index}",
            )
            for index in range(num_decoder_layers)
        ]
        self.embedding_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")

        # === Functional model ===
        encoder_ids = keras.Input(shape=(None,), dtype="int32", name="encoder_token_ids")
        encoder_mask = keras.Input(shape=(None,), dtype="int32", name="encoder_padding_mask")
        decoder_ids = keras.Input(shape=(None,), dtype="int32", name="decoder_token_ids")
        encoded = self.encode(encoder_ids, encoder_mask)
        x = self.embedding_dropout(self.token_embedding(decoder_ids, zero_first=True))
        for layer in self.decoder_layers:
            x = layer(x, encoded, encoder_mask)
        super().__init__(
            inputs={
                "encoder_token_ids": encoder_ids,
                "encoder_padding_mask": encoder_mask,
                "decoder_token_ids": decoder_ids,
            },
            outputs=x,
            dtype=dtype,
            **kwargs,
        )

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_encoder_layers = num_encoder_layers
        self.num_decoder_layers = num_decoder_layers
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.layer_norm_epsilon = layer_norm_epsilon
        self.dropout = dropout

    def encode(self, token_ids, padding_mask, training=None):
        """Encoder states (batch, source length, hidden_dim) of padded source ids."""
        x = self.embedding_dropout(self.token_embedding(token_ids), training=training)
        for layer in self.encoder_layers:
            x = layer(x, padding_mask=padding_mask, training=training)
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size,
            num_encoder_layers=self.num_encoder_layers,
            num_decoder_layers=self.num_decoder_layers,
            hidden_dim=self.hidden_dim,
            num_heads=self.num_heads,
            intermediate_dim=self.intermediate_dim,
            layer_norm_epsilon=self.layer_norm_epsilon,
            dropout=self.dropout,
        )
        return config
