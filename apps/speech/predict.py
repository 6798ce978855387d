"""Transcribe speech with Whisper: 30-second windows, cached decoding; the predict CLI."""

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from apps.speech.decoding import DecodeOptions
from apps.speech.model import SAMPLE_RATE, load_transcriber
from apps.speech.search import beam_search, greedy
from shared.audio import decode_audio
from shared.cli import report_error

WINDOW_SECONDS = 30
TIMESTAMP_SECONDS = 0.02


@dataclass
class Segment:
    """A stretch of the transcript with its start and end in seconds."""

    start: float
    end: float
    text: str


@dataclass
class Transcript:
    """What a Whisper model heard in one clip."""

    text: str
    model: str
    latency_ms: float
    audio_seconds: float
    real_time_factor: float
    segments: list = field(default_factory=list)
    source: str | None = None
    labels: list = field(default_factory=list)  # [{label, score}] for keyword models

    def to_dict(self):
        """JSON-ready dict (the CLI's ``--json`` line)."""
        return asdict(self)


def split_windows(audio, sample_rate=SAMPLE_RATE, seconds=WINDOW_SECONDS):
    """Cut audio into consecutive windows of ``seconds`` (the last one shorter)."""
    size = int(sample_rate * seconds)
    return [audio[start : start + size] for start in range(0, max(len(audio), 1), size)]


def segments_from_tokens(tokens, tokenizer, offset):
    """Segments from timestamp-token pairs ``<|t0|> text <|t1|>`` of one window."""
    begin = tokenizer.special_ids["timestamp_begin"]
    segments, start, text_ids = [], None, []
    for token in tokens:
        if token < begin:
            text_ids.append(token)
            continue
        time_s = offset + (token - begin) * TIMESTAMP_SECONDS
        if start is None:
            start = time_s
        else:
            text = tokenizer.decode(text_ids).strip()
            if text:
                segments.append(Segment(round(start, 2), round(time_s, 2), text))
            start, text_ids = None, []
    return segments


class Predictor:
    """Transcribe audio with one loaded model; the CLI, the UI and the tests share it."""

    def __init__(self, loaded):
        self.loaded = loaded

    @classmethod
    def load(cls, ref=None, *, runs_dir=None):
        """Load the model behind ``ref`` (default: ``bundled:whisper_tiny_en``).

        A one-second warm-up traces the encoder and the decoding steps, so reported
        latencies and the first user's wait are those of the model, not of tracing.
        """
        predictor = cls(load_transcriber(ref, runs_dir=runs_dir))
        predictor.transcribe(np.zeros(SAMPLE_RATE, "float32"))
        return predictor

    def _hypotheses(self, windows, options, prompt):
        loaded = self.loaded
        features = loaded.audio_converter(
            np.stack([np.pad(w, (0, WINDOW_SECONDS * SAMPLE_RATE - len(w))) for w in windows])
        )
        encoded = loaded.generator.encode(features)
        if options.beam_size <= 1:
            return greedy(loaded.generator, encoded, prompt, options)
        return [
            beam_search(loaded.generator, encoded[i : i + 1], prompt, options)
            for i in range(len(windows))
        ]

    def transcribe(self, audio, *, beam_size=1, timestamps=False, source=None):
        """Transcribe 16 kHz mono float audio (any length: 30-second windows, stitched).

        Returns:
            A ``Transcript`` (with ``segments`` when ``timestamps``).
        """
        audio = np.asarray(audio, "float32")
        suppress = getattr(self.loaded, "suppress_tokens", ())
        options = DecodeOptions(
            beam_size=beam_size, timestamps=timestamps, suppress_tokens=suppress
        )
        tokenizer = getattr(self.loaded, "tokenizer", None)
        start = time.perf_counter()
        windows = split_windows(audio)
        labels = []
        if hasattr(self.loaded, "classify"):  # a keyword / audio-class run
            scores = self.loaded.classify(audio)
            order = np.argsort(-scores)[:5]
            labels = [{"label": self.loaded.labels[i], "score": float(scores[i])} for i in order]
            texts, hypotheses = [labels[0]["label"]], []
        elif hasattr(self.loaded, "transcribe_windows"):  # keras-hub Moonshine
            texts, hypotheses = self.loaded.transcribe_windows(windows), []
        else:
            hypotheses = self._hypotheses(windows, options, tokenizer.prompt_ids(timestamps))
            texts = [tokenizer.decode(h.tokens).strip() for h in hypotheses]
        segments = []
        if timestamps and hypotheses:
            for index, hypothesis in enumerate(hypotheses):
                segments += segments_from_tokens(
                    hypothesis.tokens, tokenizer, index * WINDOW_SECONDS
                )
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
        )

    def predict(self, audio, **options):
        """Alias of ``transcribe`` (the verb every app shares)."""
        return self.transcribe(audio, **options)


def _print(result):
    seconds, factor = result.audio_seconds, result.real_time_factor
    print(f"{result.source} ({seconds:.1f} s, real-time factor {factor:.2f}): {result.text}")
    for segment in result.segments:
        print(f"  [{segment.start:6.2f} → {segment.end:6.2f}] {segment.text}")


def main(argv=None):
    """``python -m apps.speech.predict CLIP... --model REF [--beam-size N] [--json]``."""
    parser = argparse.ArgumentParser(prog="python -m apps.speech.predict")
    parser.add_argument("inputs", nargs="+", metavar="CLIP", help="audio files (WAV/FLAC/OGG/MP3)")
    parser.add_argument("--model", default=None, help="model reference (bundled:, preset, run:)")
    parser.add_argument("--beam-size", type=int, default=1, help="1 = greedy (default)")
    parser.add_argument("--timestamps", action="store_true", help="segment start/end times")
    parser.add_argument("--json", action="store_true", help="one JSON object per input")
    parser.add_argument("--runs-dir", default=None, help="runs registry root")
    args = parser.parse_args(argv)
    if args.beam_size < 1:
        parser.error("--beam-size must be at least 1")
    try:
        clips = [decode_audio(path) for path in args.inputs]
        predictor = Predictor.load(args.model, runs_dir=args.runs_dir)
    except (ValueError, OSError) as error:
        return report_error(error)
    for path, audio in zip(args.inputs, clips):
        result = predictor.transcribe(
            audio, beam_size=args.beam_size, timestamps=args.timestamps, source=path
        )
        print(json.dumps(result.to_dict())) if args.json else _print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
