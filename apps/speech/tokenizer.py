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
TASKS = ("transcribe", "translate")
# Whisper's 99 languages, by the code of their ``<|code|>`` token.
LANGUAGE_NAMES = {
    "en": "English", "zh": "Chinese", "de": "German", "es": "Spanish", "ru": "Russian",
    "ko": "Korean", "fr": "French", "ja": "Japanese", "pt": "Portuguese", "tr": "Turkish",
    "pl": "Polish", "ca": "Catalan", "nl": "Dutch", "ar": "Arabic", "sv": "Swedish",
    "it": "Italian", "id": "Indonesian", "hi": "Hindi", "fi": "Finnish", "vi": "Vietnamese",
    "he": "Hebrew", "uk": "Ukrainian", "el": "Greek", "ms": "Malay", "cs": "Czech",
    "ro": "Romanian", "da": "Danish", "hu": "Hungarian", "ta": "Tamil", "no": "Norwegian",
    "th": "Thai", "ur": "Urdu", "hr": "Croatian", "bg": "Bulgarian", "lt": "Lithuanian",
    "la": "Latin", "mi": "Maori", "ml": "Malayalam", "cy": "Welsh", "sk": "Slovak",
    "te": "Telugu", "fa": "Persian", "lv": "Latvian", "bn": "Bengali", "sr": "Serbian",
    "az": "Azerbaijani", "sl": "Slovenian", "kn": "Kannada", "et": "Estonian",
    "mk": "Macedonian", "br": "Breton", "eu": "Basque", "is": "Icelandic", "hy": "Armenian",
    "ne": "Nepali", "mn": "Mongolian", "bs": "Bosnian", "kk": "Kazakh", "sq": "Albanian",
    "sw": "Swahili", "gl": "Galician", "mr": "Marathi", "pa": "Punjabi", "si": "Sinhala",
    "km": "Khmer", "sn": "Shona", "yo": "Yoruba", "so": "Somali", "af": "Afrikaans",
    "oc": "Occitan", "ka": "Georgian", "be": "Belarusian", "tg": "Tajik", "sd": "Sindhi",
    "gu": "Gujarati", "am": "Amharic", "yi": "Yiddish", "lo": "Lao", "uz": "Uzbek",
    "fo": "Faroese", "ht": "Haitian Creole", "ps": "Pashto", "tk": "Turkmen", "nn": "Nynorsk",
    "mt": "Maltese", "sa": "Sanskrit", "lb": "Luxembourgish", "my": "Myanmar", "bo": "Tibetan",
    "tl": "Tagalog", "mg": "Malagasy", "as": "Assamese", "tt": "Tatar", "haw": "Hawaiian",
    "ln": "Lingala", "ha": "Hausa", "ba": "Bashkir", "jw": "Javanese", "su": "Sundanese",
}  # fmt: skip
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
# Multilingual vocabularies name ``<|nocaptions|>`` ``<|nospeech|>``.
SPECIAL_ALIASES = {"nocaptions": "nospeech"}


def language_label(code):
    """``"German (de)"`` for ``"de"``; the code alone when Whisper has no name for it."""
    name = LANGUAGE_NAMES.get(code)
    return f"{name} ({code})" if name else code


def check_task(task):
    """Raise ``ValueError`` unless ``task`` is ``"transcribe"`` or ``"translate"``."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, received {task!r}")


def read_special_ids(tokenizer_file):
    """Return ``{name: id}`` for Whisper's special tokens in a ``tokenizer.json``.

    Also adds ``timestamp_begin`` (the id after ``notimestamps``, where Whisper's
    timestamp tokens start).

    Raises:
        ValueError: the file lacks one of the special tokens.
    """
    added = json.loads(Path(tokenizer_file).read_text(encoding="utf-8"))["added_tokens"]
    by_content = {token["content"]: token["id"] for token in added}
    for name, alias in SPECIAL_ALIASES.items():
        if f"<|{alias}|>" in by_content:
            by_content.setdefault(f"<|{name}|>", by_content[f"<|{alias}|>"])
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
        lang_ids: a multilingual model's language token ids (its ``config.json``'s
            ``lang_ids``); none for an English-only model.

    Attributes:
        special_ids: ``{name: id}`` of the special tokens (see ``SPECIAL_NAMES``) plus
            ``timestamp_begin``; each is also an attribute ``<name>_id``, e.g.
            ``startoftranscript_id``, ``notimestamps_id``, ``endoftext_id`` (end of text).
        vocabulary_size: ids in the tokenizer file (timestamp ids come after these).
        language_ids: ``{code: id}`` of the language tokens, e.g. ``{"en": 50259, ...}``;
            empty for an English-only model.
    """

    def __init__(self, tokenizer_file, lang_ids=()):
        import tokenizers

        self.tokenizer_file = str(tokenizer_file)
        self._tokenizer = tokenizers.Tokenizer.from_file(self.tokenizer_file)
        self.special_ids = read_special_ids(tokenizer_file)
        for name, token_id in self.special_ids.items():
            setattr(self, f"{name}_id", token_id)
        self.vocabulary_size = self._tokenizer.get_vocab_size(with_added_tokens=True)
        tokens = [self._tokenizer.id_to_token(int(token_id)) or "" for token_id in lang_ids]
        if not all(token.startswith("<|") and token.endswith("|>") for token in tokens):
            raise ValueError(f"{tokenizer_file}: the language ids are not language tokens")
        self.language_ids = {token[2:-2]: int(i) for token, i in zip(tokens, lang_ids)}

    @classmethod
    def from_preset(cls, preset_dir):
        """Load the tokenizer saved by ``apps.speech.weights`` into ``preset_dir``, with the
        language tokens of a multilingual model (from its ``transferzoo.json``)."""
        path = Path(preset_dir) / TOKENIZER_FILE
        if not path.is_file():
            raise ValueError(f"{preset_dir} holds no Whisper tokenizer (no {TOKENIZER_FILE})")
        metadata_path = Path(preset_dir) / METADATA_FILE
        metadata = (
            json.loads(metadata_path.read_text(encoding="utf-8")) if metadata_path.is_file() else {}
        )
        lang_ids = metadata.get("lang_ids", ()) if metadata.get("multilingual") else ()
        return cls(path, lang_ids)

    @property
    def multilingual(self):
        """True when the model hears many languages (and can translate them to English)."""
        return bool(self.language_ids)

    @property
    def eot_id(self):
        """End of text: Whisper stops decoding here."""
        return self.special_ids["endoftext"]

    def prompt_ids(self, timestamps=False, language="en", task="transcribe"):
        """The decoder prompt: ``<|startoftranscript|>``, then on a multilingual model the
        language and task tokens (``<|de|><|translate|>``), then ``<|notimestamps|>``
        unless ``timestamps``. An English-only model's prompt has no language or task."""
        prompt = [self.startoftranscript_id]
        if self.multilingual:
            prompt += [self.language_ids[language], self.special_ids[task]]
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
