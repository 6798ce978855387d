"""``MarianTokenizer``: the models' shared SentencePiece vocabulary as a keras-hub tokenizer."""

import keras
import keras_hub

from apps.translate.backbone import MarianBackbone
from apps.translate.layers import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class MarianTokenizer(keras_hub.tokenizers.SentencePieceTokenizer):
    """SentencePiece ids as Marian uses them: ``</s>`` (id 0) ends every sentence.

    Args:
        proto: the ``.spm`` model (path or bytes).
    """

    backbone_cls = MarianBackbone

    def __init__(self, proto=None, **kwargs):
        self._add_special_token("</s>", "end_token")
        self._add_special_token("<unk>", "unknown_token")
        super().__init__(proto=proto, **kwargs)

    def encode_batch(self, texts):
        """Lists of ids (each ending with ``</s>``) for a list of strings."""
        rows = self(list(texts))
        rows = rows.to_list() if hasattr(rows, "to_list") else rows
        return [[int(i) for i in ids] + [self.end_token_id] for ids in rows]

    def decode_ids(self, ids):
        """Text of one id list (special ids are dropped by SentencePiece)."""
        text = self.detokenize([list(ids) or [self.end_token_id]])
        value = keras.ops.convert_to_numpy(text)[0]
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)
