"""Whisper's byte-level BPE text tokenizer, loaded offline from a converted preset.

The preset keeps the Hugging Face ``tokenizer.json`` that ships with the weights; the
``tokenizers`` package (a keras-hub dependency) reads it. Timestamp tokens sit above the
file's vocabulary (``timestamp_begin`` onwards, one per 20 ms) and are handled here.
"""

import json
from pathlib import Path

# Where the converter puts the files inside a preset directory.
METADATA_FILE = "transferzoo.json"
TOKENIZER_FILE = "assets/tokenizer/whisper_tokenizer.json"
TIMESTAMP_SECONDS = 0.02
# Special tokens Whisper's decoding needs, by their name without the ``<|...|>`` marks.
SPECIAL_NAMES = (
    "endoftext",
    "startoftranscript",
    "translate",
    "transcribe",
    "startoflm",
    "startofprev",
    "nocaptions",
    "notimestamps",
)


def read_special_ids(tokenizer_file):
    """Return ``{name: id}`` for Whisper's special tokens in a ``tokenizer.json``.

    Also adds ``timestamp_begin`` (the id after ``notimestamps``, where Whisper's
    timestamp tokens start).

    Raises:
        ValueError: the file lacks one of the special tokens.
    """
    added = json.loads(Path(tokenizer_file).read_text(encoding="utf-8"))["added_tokens"]
    by_content = {token["content"]: token["id"] for token in added}
    missing = [name for name in SPECIAL_NAMES if f"<|{name}|>" not in by_content]
    if missing:
        raise ValueError(f"{tokenizer_file} is not a Whisper tokenizer: no {missing}")
    ids = {name: by_content[f"<|{name}|>"] for name in SPECIAL_NAMES}
    ids["timestamp_begin"] = ids["notimestamps"] + 1
    return ids


class WhisperTextTokenizer:
    """Text to Whisper token ids and back.

    Args:
        tokenizer_file: path of a Hugging Face ``tokenizer.json`` of a Whisper model.

    Attributes:
        special_ids: ``{name: id}`` of the special tokens (see ``SPECIAL_NAMES``) plus
            ``timestamp_begin``; each is also an attribute ``<name>_id``, e.g.
            ``startoftranscript_id``, ``notimestamps_id``, ``endoftext_id`` (end of text).
        vocabulary_size: ids in the tokenizer file (timestamp ids come after these).
    """

    def __init__(self, tokenizer_file):
        import tokenizers

        self.tokenizer_file = str(tokenizer_file)
        self._tokenizer = tokenizers.Tokenizer.from_file(self.tokenizer_file)
        self.special_ids = read_special_ids(tokenizer_file)
        for name, token_id in self.special_ids.items():
            setattr(self, f"{name}_id", token_id)
        self.vocabulary_size = self._tokenizer.get_vocab_size(with_added_tokens=True)

    @classmethod
    def from_preset(cls, preset_dir):
        """Load the tokenizer saved by ``apps.speech.weights`` into ``preset_dir``."""
        path = Path(preset_dir) / TOKENIZER_FILE
        if not path.is_file():
            raise ValueError(f"{preset_dir} holds no Whisper tokenizer (no {TOKENIZER_FILE})")
        return cls(path)

    @property
    def eot_id(self):
        """End of text: Whisper stops decoding here."""
        return self.special_ids["endoftext"]

    def prompt_ids(self, timestamps=False):
        """The decoder prompt for English transcription."""
        prompt = [self.startoftranscript_id]
        return prompt if timestamps else prompt + [self.notimestamps_id]

    def encode(self, text):
        """Token ids of ``text``, without any special token."""
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def is_special(self, token_id):
        """True for special and timestamp tokens (all ids from end-of-text up)."""
        return int(token_id) >= self.eot_id

    def decode(self, ids, skip_special=True):
        """Text of ``ids``; special and timestamp tokens dropped, or written out.

        Args:
            ids: token ids (any integers; a numpy array is fine).
            skip_special: drop special and timestamp tokens; else write them as
                ``<|name|>`` and timestamps as ``<|1.28|>``.
        """
        ids = [int(token_id) for token_id in ids]
        if skip_special:
            return self._decode_text([i for i in ids if not self.is_special(i)])
        pieces, run = [], []
        for token_id in ids:
            if not self.is_special(token_id):
                run.append(token_id)
                continue
            pieces += [self._decode_text(run), self._special_text(token_id)]
            run = []
        return "".join(pieces + [self._decode_text(run)])

    def _decode_text(self, ids):
        return self._tokenizer.decode(ids, skip_special_tokens=False) if ids else ""

    def _special_text(self, token_id):
        if token_id >= self.timestamp_begin_id:
            return f"<|{(token_id - self.timestamp_begin_id) * TIMESTAMP_SECONDS:.2f}|>"
        return self._tokenizer.id_to_token(token_id) or f"<|{token_id}|>"
