"""keras-hub T5 presets as translators (online choices; T5 translates EN→DE/FR/RO)."""

from apps.translate.search import Candidate

T5_TARGETS = ("German", "French", "Romanian")
T5_LANGUAGE_CODES = {"German": "de", "French": "fr", "Romanian": "ro"}


def t5_prompt(sentence, target_language):
    """T5's task prefix, e.g. "translate English to German: ..."."""
    if target_language not in T5_TARGETS:
        raise ValueError(
            f"T5 translates English to {', '.join(T5_TARGETS)}; received {target_language!r}"
        )
    return f"translate English to {target_language}: {sentence}"


class HubTranslator:
    """A keras-hub ``Seq2SeqLM`` preset behind the same interface as ``LoadedTranslator``."""

    def __init__(self, model, preset, target_language):
        self.model, self.ref, self.target_language = model, preset, target_language
        self.metadata = {
            "source_language": "en",
            "target_language": T5_LANGUAGE_CODES[target_language],
        }
        self.backbone = model.backbone

    @classmethod
    def load(cls, preset, target_language=None):
        """Download (when online) and load ``preset``; German unless told otherwise."""
        import keras_hub

        target_language = target_language or "German"
        t5_prompt("", target_language)  # validate before a download
        model = keras_hub.models.Seq2SeqLM.from_preset(preset)
        return cls(model, preset, target_language)

    @property
    def direction(self):
        return f"en-{self.metadata['target_language']}"

    def translate_sentences(self, sentences, beam_size=1, num_alternatives=1, progress=None):
        """Translate with the model's own ``generate()`` (greedy or beam)."""
        import keras_hub

        sampler = keras_hub.samplers.BeamSampler(num_beams=beam_size) if beam_size > 1 else "greedy"
        self.model.compile(sampler=sampler)
        prompts = [t5_prompt(sentence, self.target_language) for sentence in sentences]
        outputs = self.model.generate(prompts)
        outputs = [outputs] if isinstance(outputs, str) else list(outputs)
        if progress is not None:
            progress(len(prompts), len(prompts))
        return [[Candidate(str(text).strip(), 0.0)] for text in outputs]
