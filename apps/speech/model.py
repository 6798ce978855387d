"""Load speech models: converted Whisper presets (bundled, runs, local) and keras-hub presets."""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apps.speech.config import MODELS
from apps.speech.data import fit_length
from apps.speech.decoding import SpecialTokens, WhisperGenerator
from apps.speech.hub import HubWhisperTokenizer, MoonshineTranscriber
from apps.speech.tokenizer import METADATA_FILE, WhisperTextTokenizer
from shared.model_files import reports_load_failures
from shared.models import resolve_model_ref
from shared.numeric import softmax

SAMPLE_RATE = 16000


@dataclass
class LoadedTranscriber:
    """A Whisper model ready to transcribe.

    Attributes:
        generator: ``WhisperGenerator`` (cached greedy / beam decoding).
        tokenizer: text <-> ids, with ``prompt_ids()`` and ``decode()``.
        audio_converter: ``keras_hub.layers.WhisperAudioConverter`` (log-mel features).
        suppress_tokens: ids never generated.
        ref: the model reference it was loaded from.
    """

    generator: object
    tokenizer: object
    audio_converter: object
    suppress_tokens: tuple
    ref: str


def special_tokens_of(tokenizer):
    """``SpecialTokens`` from a tokenizer's ``special_ids`` table."""
    ids = tokenizer.special_ids
    return SpecialTokens(
        start_of_transcript=ids["startoftranscript"],
        end_of_text=ids["endoftext"],
        no_timestamps=ids["notimestamps"],
        timestamp_begin=ids["timestamp_begin"],
        transcribe=ids.get("transcribe"),
        translate=ids.get("translate"),
        no_speech=ids.get("nocaptions", ids.get("nospeech")),
    )


def _metadata(directory, ref):
    """The ``transferzoo.json`` of a converted Whisper preset directory."""
    if not (directory / METADATA_FILE).is_file():
        raise ValueError(
            f"{ref}: {directory} is not a converted Whisper preset (no {METADATA_FILE})"
        )
    return json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))


def _from_directory(directory, ref):
    import keras_hub

    directory = Path(directory)
    metadata = _metadata(directory, ref)
    backbone = keras_hub.models.WhisperBackbone.from_preset(str(directory))
    tokenizer = WhisperTextTokenizer.from_preset(directory)
    converter = keras_hub.layers.WhisperAudioConverter(num_mels=backbone.num_mels)
    generator = WhisperGenerator(backbone, special_tokens_of(tokenizer))
    suppress = tuple(metadata.get("suppress_tokens", ()))
    return LoadedTranscriber(generator, tokenizer, converter, suppress, ref)


def _from_hub(name):
    """A keras-hub Whisper preset, or a Moonshine one."""
    import keras_hub

    if name.startswith("moonshine"):
        model = keras_hub.models.MoonshineAudioToText.from_preset(name)
        return MoonshineTranscriber(model, name)
    backbone = keras_hub.models.WhisperBackbone.from_preset(name)
    tokenizer = HubWhisperTokenizer(keras_hub.models.WhisperTokenizer.from_preset(name))
    converter = keras_hub.layers.WhisperAudioConverter(num_mels=backbone.num_mels)
    generator = WhisperGenerator(backbone, special_tokens_of(tokenizer))
    return LoadedTranscriber(generator, tokenizer, converter, (), name)


@reports_load_failures
def load_transcriber(ref=None, *, runs_dir=None):
    """Load a Whisper model from any reference (see ``shared.models``).

    Args:
        ref: model reference; None means ``bundled:whisper_tiny_en``.
        runs_dir: runs registry root.

    Returns:
        A ``LoadedTranscriber`` (a ``MoonshineTranscriber`` for Moonshine presets, a
        ``LoadedKeywordModel`` for a keyword run).
    """
    resolved = resolve_model_ref(ref, MODELS, runs_dir=runs_dir)
    if resolved.kind == "preset":
        return _from_hub(resolved.location)
    location = Path(resolved.location)
    if location.suffix == ".keras":
        return _keyword_model(location, resolved)
    return _from_directory(location, resolved.ref)


@reports_load_failures
def load_whisper_backbone(ref=None, *, runs_dir=None):
    """The ``WhisperBackbone`` of a Whisper reference alone, without its tokenizer or
    decoding: all that class heads on the encoder need.

    Args:
        ref: model reference; None means ``bundled:whisper_tiny_en``.
        runs_dir: runs registry root.

    Raises:
        ValueError: the reference is not a Whisper model (a keyword run, Moonshine).
    """
    import keras_hub

    resolved = resolve_model_ref(ref, MODELS, runs_dir=runs_dir)
    location = resolved.location
    if resolved.kind == "preset":
        if location.startswith("moonshine"):
            raise ValueError(f"{resolved.ref}: class heads need a Whisper model")
        return keras_hub.models.WhisperBackbone.from_preset(location)
    if Path(location).suffix == ".keras":
        raise ValueError(f"{resolved.ref}: class heads need a Whisper model, not a keyword run")
    _metadata(Path(location), resolved.ref)
    return keras_hub.models.WhisperBackbone.from_preset(location)


def audio_features(num_mels, clip_seconds, clips, batch_size=32):
    """Log-mel features (N, frames, mels) of fixed-length clips: a keyword model's input."""
    import keras
    import keras_hub

    converter = keras_hub.layers.WhisperAudioConverter(
        num_mels=num_mels, max_audio_length=clip_seconds
    )
    batches = [converter(clips[i : i + batch_size]) for i in range(0, len(clips), batch_size)]
    return np.concatenate([keras.ops.convert_to_numpy(b) for b in batches]).astype("float32")


@dataclass
class LoadedKeywordModel:
    """A keyword / audio-class head on the Whisper encoder (a ``classify`` run)."""

    model: object
    labels: list
    clip_seconds: float
    ref: str

    def classify(self, audio):
        """Class probabilities of one 16 kHz clip (padded or cut to the trained length)."""
        clip = fit_length(audio, int(self.clip_seconds * SAMPLE_RATE))[None]
        num_mels = int(self.model.input_shape[-1])
        logits = self.model.predict_on_batch(audio_features(num_mels, self.clip_seconds, clip))
        return softmax(np.asarray(logits, "float64")[0])


def _keyword_model(location, resolved):
    import keras

    if resolved.run is None:
        raise ValueError(f"{resolved.ref}: a .keras speech model must come from a run (run:<id>)")
    clip_seconds = int(resolved.run.config.get("clip_seconds", 2))
    model = keras.saving.load_model(location)
    return LoadedKeywordModel(model, resolved.run.labels, clip_seconds, resolved.ref)
