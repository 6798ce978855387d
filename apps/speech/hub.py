"""keras-hub speech presets (online) behind the app's interfaces: Whisper's tokenizer and
Moonshine's transcriber (``apps.speech.model`` loads them)."""


class HubWhisperTokenizer:
    """Adapter giving a keras-hub ``WhisperTokenizer`` the interface decoding uses."""

    def __init__(self, tokenizer):
        self._tokenizer = tokenizer
        special = dict(tokenizer.special_tokens)
        self.special_ids = {name.strip("<|>"): token_id for name, token_id in special.items()}
        self.special_ids["timestamp_begin"] = self.special_ids["notimestamps"] + 1
        languages = tokenizer.language_tokens or {}
        self.language_ids = {name.strip("<|>"): token_id for name, token_id in languages.items()}

    @property
    def multilingual(self):
        """True when the model hears many languages (and can translate them to English)."""
        return bool(self.language_ids)

    def prompt_ids(self, timestamps=False, language="en", task="transcribe"):
        """``<|startoftranscript|>`` [language, task] [``<|notimestamps|>``]."""
        prompt = [self.special_ids["startoftranscript"]]
        if self.multilingual:
            prompt += [self.language_ids[language], self.special_ids[task]]
        return prompt if timestamps else prompt + [self.special_ids["notimestamps"]]

    def decode(self, ids, skip_special=True):
        """Text of the non-special ids."""
        end = self.special_ids["endoftext"]
        text_ids = [int(i) for i in ids if int(i) < end] if skip_special else list(ids)
        return str(self._tokenizer.detokenize(text_ids)) if text_ids else ""


class MoonshineTranscriber:
    """A keras-hub ``MoonshineAudioToText`` task behind the app's transcriber interface."""

    def __init__(self, model, ref):
        self.model, self.ref = model, ref

    def transcribe_windows(self, windows):
        """Text of each 16 kHz window (Moonshine's own ``generate``)."""
        return [str(self.model.generate({"audio": window[None, :, None]})) for window in windows]
