"""The speech ``Predictor``: Whisper transcription (30-second windows that follow the speech,
see ``windows.py``; cached decoding) and keyword classification."""

import time
from dataclasses import dataclass, field, replace

import numpy as np

from apps.speech.decoding import DecodeOptions, Hypothesis
from apps.speech.model import SAMPLE_RATE, load_transcriber
from apps.speech.search import (
    beam_search,
    greedy,
    language_probabilities,
    no_speech_probability,
)
from apps.speech.tokenizer import check_task
from apps.speech.windows import (
    NO_SPEECH_CERTAIN,
    WINDOW_SECONDS,
    Segment,
    complete_segments,
    is_silent,
    quiet_start,
    segments_from_tokens,
    silence_note,
    split_windows,
)
from shared.results import Result

# The beam width that ``Predictor.load`` traces (the page's widest); others trace on first use.
WARM_BEAM_SIZE = 5


@dataclass(kw_only=True)
class Transcript(Result):
    """What a speech model heard in one clip.

    Attributes:
        text: the transcript (a keyword model: its top label).
        audio_seconds: the clip's length.
        real_time_factor: processing time over audio time (below 1: faster than real time).
        segments: timed ``Segment`` pieces of the text, when asked for timestamps.
        labels: a keyword model's top classes, ``{"label", "score"}`` each, best first.
        language: the spoken language's code (``"de"``): detected, or as asked; ``"en"`` for
            an English-only model; None for a keyword model.
        language_probability: the detected language's probability (None when not detected).
        task: ``"transcribe"`` (text in the spoken language) or ``"translate"`` (English).
        no_speech_probability: Whisper's no-speech probability of the first 30 seconds
            (None for a model without it).
        note: why the text is empty or shorter, when Whisper heard no speech (else "").
    """

    text: str
    audio_seconds: float
    real_time_factor: float
    segments: list[Segment] = field(default_factory=list)
    labels: list[dict] = field(default_factory=list)
    language: str | None = None
    language_probability: float | None = None
    task: str = "transcribe"
    no_speech_probability: float | None = None
    note: str = ""


@dataclass
class Speech:
    """The language a clip is decoded in (None until detected on its first window) and the
    task; detection fills ``language`` and ``probability``."""

    language: str | None
    task: str
    probability: float | None = None
    windows: list = field(default_factory=list)  # (no-speech probability, silent) each

    def heard(self, language, probability=None):
        """Set the language; translating English speech is transcribing it."""
        self.language, self.probability = language, probability
        if language == "en":
            self.task = "transcribe"


class Predictor:
    """Transcribe audio with one loaded model; the CLI, the UI and the tests share it."""

    def __init__(self, loaded):
        self.loaded = loaded

    @classmethod
    def load(cls, ref=None, *, runs_dir=None):
        """Load the model behind ``ref`` (default: ``bundled:whisper_tiny_en``).

        A warm-up (``warm_up``) traces the encoder and every decoding step a clip up to
        30 seconds long uses, so reported latencies and the first user's wait are those of
        the model, not of tracing.
        """
        predictor = cls(load_transcriber(ref, runs_dir=runs_dir))
        predictor.warm_up()
        return predictor

    def warm_up(self):
        """Trace what a clip uses: the features and the encoder, the first pass, and for
        both prompts (with and without timestamps) the greedy steps and those of beam
        search of ``WARM_BEAM_SIZE``; a few steps each, on a silent window."""
        loaded = self.loaded
        if not hasattr(loaded, "generator"):  # a keyword or Moonshine model
            self.predict(np.zeros(SAMPLE_RATE, "float32"))
            return
        window = np.zeros((1, WINDOW_SECONDS * SAMPLE_RATE), "float32")
        encoded = loaded.generator.encode(loaded.audio_converter(window))
        _, cross_cache = loaded.generator.start(encoded)
        for timestamps in (False, True):
            prompt = loaded.tokenizer.prompt_ids(timestamps, "en", "transcribe")
            for beam_size in (1, WARM_BEAM_SIZE):
                options = DecodeOptions(
                    beam_size=beam_size,
                    timestamps=timestamps,
                    suppress_tokens=loaded.suppress_tokens,
                    step_limit=3,
                )
                search = greedy if beam_size == 1 else beam_search
                search(loaded.generator, encoded, prompt, options, cross_cache=cross_cache)

    @property
    def multilingual(self):
        """True for a model that hears many languages and translates them to English."""
        return bool(getattr(getattr(self.loaded, "tokenizer", None), "multilingual", False))

    def _hypothesis(self, window, options, speech):
        """The decoded tokens of one window of up to 30 seconds (zero-padded to 30), in
        ``speech``'s language and task; the language is detected here when not known."""
        loaded, generator = self.loaded, self.loaded.generator
        padded = np.pad(window, (0, WINDOW_SECONDS * SAMPLE_RATE - len(window)))
        encoded = generator.encode(loaded.audio_converter(padded[None]))
        # One first pass serves language detection, the no-speech probability and, through
        # its cross-attention keys/values, the decoding.
        logits, cross_cache = generator.start(encoded)
        if speech.language is None:
            scores = language_probabilities(
                generator, encoded, loaded.tokenizer.language_ids, logits
            )
            best = max(scores, key=scores.get)
            speech.heard(best, scores[best])
        no_speech = no_speech_probability(logits, generator.special)
        prompt = loaded.tokenizer.prompt_ids(options.timestamps, speech.language, speech.task)
        if no_speech is not None and no_speech > NO_SPEECH_CERTAIN:
            hypothesis = Hypothesis()
        elif options.beam_size <= 1:
            hypothesis = greedy(generator, encoded, prompt, options, cross_cache)[0]
        else:
            hypothesis = beam_search(generator, encoded, prompt, options, cross_cache)
        silent = is_silent(no_speech, hypothesis, loaded.tokenizer.decode(hypothesis.tokens))
        speech.windows.append((no_speech, silent))
        return Hypothesis([], hypothesis.log_prob) if silent else hypothesis

    def _windows(self, audio, options, speech):
        """``(start, end, tokens)`` of each window decoded: seconds where it starts and where
        its segments end at the latest (where the next window starts), and its kept tokens.

        Up to 30 seconds: one window, decoded as asked. Longer: Whisper's own long-form
        loop. Windows decode with timestamps (shown or not) and each keeps its complete
        segments only; the next one starts where they end (in the pause there, see
        ``quiet_start``), so words that the 30-second edge cut are heard again whole.
        Each window needs the one before: they decode in turn, not as a batch.
        """
        size = WINDOW_SECONDS * SAMPLE_RATE
        if len(audio) <= size:
            hypothesis = self._hypothesis(audio, options, speech)
            return [(0.0, len(audio) / SAMPLE_RATE, hypothesis.tokens)]
        options = replace(options, timestamps=True)
        begin = self.loaded.tokenizer.special_ids["timestamp_begin"]
        windows, seek = [], 0
        while seek < len(audio):
            end = min(seek + size, len(audio))
            tokens, cut = self._hypothesis(audio[seek:end], options, speech).tokens, None
            if end < len(audio):  # the last window has no edge to cut speech at
                tokens, cut = complete_segments(tokens, begin)
            following = quiet_start(audio, seek, tokens, cut, begin) if cut else end
            windows.append((seek / SAMPLE_RATE, following / SAMPLE_RATE, tokens))
            seek = following
        return windows

    def _whisper(self, audio, options, speech):
        """Texts of the windows, and their segments when ``options.timestamps``."""
        tokenizer, windows = self.loaded.tokenizer, self._windows(audio, options, speech)
        texts = [tokenizer.decode(tokens).strip() for _, _, tokens in windows]
        if not options.timestamps:
            return texts, []
        segments = [
            segment
            for start, end, tokens in windows
            for segment in segments_from_tokens(tokens, tokenizer, start, end)
        ]
        return texts, segments

    def request(self, language, task):
        """The ``Speech`` to decode ``language`` (None: detect) and ``task`` in.

        Raises:
            ValueError: what the model cannot do (an English-only model asked to translate
                or to hear another language), an unknown language or task.
        """
        check_task(task)
        speech = Speech(None, task)
        if hasattr(self.loaded, "classify"):  # a keyword model: sounds, no language
            return replace(speech, task="transcribe")
        if not self.multilingual:
            if task == "translate" or language not in (None, "en"):
                asked = "translate" if task == "translate" else f"hear language {language!r}"
                raise ValueError(
                    f"{self.loaded.ref} is English-only and cannot {asked}: "
                    "use a multilingual model such as bundled:whisper_base"
                )
            language = "en"
        elif language is not None and language not in self.languages:
            raise ValueError(
                f"unknown language {language!r}: this model hears {', '.join(self.languages)}"
            )
        if language is not None:
            speech.heard(language)
        return speech

    @property
    def languages(self):
        """The codes of the languages the model hears (``["en"]`` for an English-only one)."""
        if self.multilingual:
            return list(self.loaded.tokenizer.language_ids)
        return [] if hasattr(self.loaded, "classify") else ["en"]

    def predict(
        self, audio, *, beam_size=1, timestamps=False, language=None, task="transcribe", source=None
    ):
        """Transcribe (or translate) 16 kHz mono float audio of any length (see ``_windows``).

        Args:
            audio: the samples.
            beam_size: 1 is greedy decoding.
            timestamps: also return timed segments.
            language: the spoken language's code (``"de"``); None detects it on the first
                30 seconds (a multilingual model; an English-only one hears ``"en"``).
            task: ``"transcribe"`` writes the spoken language, ``"translate"`` English
                (a multilingual model; English speech is then transcribed).
            source: where the audio came from, recorded in the result.

        Returns:
            A ``Transcript`` (with ``segments`` when ``timestamps``).

        Raises:
            ValueError: an English-only model asked to translate or to hear another
                language, an unknown language or task.
        """
        audio = np.asarray(audio, "float32")
        speech = self.request(language, task)
        suppress = getattr(self.loaded, "suppress_tokens", ())
        options = DecodeOptions(
            beam_size=beam_size, timestamps=timestamps, suppress_tokens=suppress
        )
        start = time.perf_counter()
        labels, segments = [], []
        if hasattr(self.loaded, "classify"):  # a keyword / audio-class run
            scores = self.loaded.classify(audio)
            order = np.argsort(-scores)[:5]
            labels = [{"label": self.loaded.labels[i], "score": float(scores[i])} for i in order]
            texts = [labels[0]["label"]]
        elif hasattr(self.loaded, "transcribe_windows"):  # keras-hub Moonshine
            texts = self.loaded.transcribe_windows(split_windows(audio))
        else:
            texts, segments = self._whisper(audio, options, speech)
        elapsed = time.perf_counter() - start
        seconds = len(audio) / SAMPLE_RATE
        return Transcript(
            text=" ".join(text for text in texts if text),
            model=self.loaded.ref,
            latency_ms=elapsed * 1000,
            audio_seconds=round(seconds, 3),
            real_time_factor=elapsed / seconds if seconds else 0.0,
            segments=segments,
            source=source,
            labels=labels,
            language=speech.language,
            language_probability=speech.probability,
            task=speech.task,
            no_speech_probability=speech.windows[0][0] if speech.windows else None,
            note=silence_note(speech.windows),
        )
