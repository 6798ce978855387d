"""Transcribe speech with Whisper (30-second windows that follow the speech, see
``windows.py``; cached decoding); the predict CLI."""

import argparse
import sys
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from apps.speech.decoding import DecodeOptions
from apps.speech.model import SAMPLE_RATE, load_transcriber
from apps.speech.search import beam_search, greedy
from apps.speech.windows import (
    WINDOW_SECONDS,
    complete_segments,
    quiet_start,
    segments_from_tokens,
    split_windows,
)
from shared import predict_cli
from shared.audio import AUDIO_EXTENSIONS, decode_audio
from shared.cli import report_error
from shared.inputs import InputPaths


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
        predictor.predict(np.zeros(SAMPLE_RATE, "float32"))
        return predictor

    def _hypothesis(self, window, options, prompt):
        """The decoded tokens of one window of up to 30 seconds (zero-padded to 30)."""
        loaded = self.loaded
        padded = np.pad(window, (0, WINDOW_SECONDS * SAMPLE_RATE - len(window)))
        encoded = loaded.generator.encode(loaded.audio_converter(padded[None]))
        if options.beam_size <= 1:
            return greedy(loaded.generator, encoded, prompt, options)[0]
        return beam_search(loaded.generator, encoded, prompt, options)

    def _windows(self, audio, options):
        """``(start, end, tokens)`` of each window decoded: seconds where it starts and where
        its segments end at the latest (where the next window starts), and its kept tokens.

        Up to 30 seconds: one window, decoded as asked. Longer: Whisper's own long-form
        loop. Windows decode with timestamps (shown or not) and each keeps its complete
        segments only; the next one starts where they end (in the pause there, see
        ``quiet_start``), so words that the 30-second edge cut are heard again whole.
        Each window needs the one before: they decode in turn, not as a batch.
        """
        size = WINDOW_SECONDS * SAMPLE_RATE
        tokenizer = self.loaded.tokenizer
        if len(audio) <= size:
            hypothesis = self._hypothesis(audio, options, tokenizer.prompt_ids(options.timestamps))
            return [(0.0, len(audio) / SAMPLE_RATE, hypothesis.tokens)]
        options, prompt = replace(options, timestamps=True), tokenizer.prompt_ids(True)
        begin = tokenizer.special_ids["timestamp_begin"]
        windows, seek = [], 0
        while seek < len(audio):
            end = min(seek + size, len(audio))
            tokens, cut = self._hypothesis(audio[seek:end], options, prompt).tokens, None
            if end < len(audio):  # the last window has no edge to cut speech at
                tokens, cut = complete_segments(tokens, begin)
            following = quiet_start(audio, seek, tokens, cut, begin) if cut else end
            windows.append((seek / SAMPLE_RATE, following / SAMPLE_RATE, tokens))
            seek = following
        return windows

    def _whisper(self, audio, options):
        """Texts of the windows, and their segments when ``options.timestamps``."""
        tokenizer, windows = self.loaded.tokenizer, self._windows(audio, options)
        texts = [tokenizer.decode(tokens).strip() for _, _, tokens in windows]
        if not options.timestamps:
            return texts, []
        segments = [
            segment
            for start, end, tokens in windows
            for segment in segments_from_tokens(tokens, tokenizer, start, end)
        ]
        return texts, segments

    def predict(self, audio, *, beam_size=1, timestamps=False, source=None):
        """Transcribe 16 kHz mono float audio of any length (see ``_windows``).

        Returns:
            A ``Transcript`` (with ``segments`` when ``timestamps``).
        """
        audio = np.asarray(audio, "float32")
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
            texts, segments = self._whisper(audio, options)
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


CSV_COLUMNS = (
    "source",
    "start",
    "end",
    "text",
    "audio_seconds",
    "real_time_factor",
    "model",
    "latency_ms",
    "error",
)


def describe(result):
    """The text lines of one transcript: source, duration and text, then its segments."""
    seconds, factor = result.audio_seconds, result.real_time_factor
    lines = [f"{result.source} ({seconds:.1f} s, real-time factor {factor:.2f}): {result.text}"]
    for segment in result.segments:
        lines.append(f"  [{segment.start:6.2f} → {segment.end:6.2f}] {segment.text}")
    return "\n".join(lines)


def csv_rows(result):
    """One row per clip; with ``--timestamps``, one row per segment (start, end, text)."""
    common = {
        "source": result.source,
        "audio_seconds": result.audio_seconds,
        "real_time_factor": result.real_time_factor,
        "model": result.model,
        "latency_ms": result.latency_ms,
    }
    segments = [
        common | {"start": segment.start, "end": segment.end, "text": segment.text}
        for segment in result.segments
    ]
    return segments or [common | {"text": result.text}]


def main(argv=None):
    """``python -m apps.speech.predict CLIP|FOLDER|GLOB|LIST.txt... --model REF
    [--beam-size N] [--timestamps] [--json|--csv]``."""
    parser = argparse.ArgumentParser(prog="python -m apps.speech.predict")
    predict_cli.add_arguments(parser, metavar="CLIP", kind="audio (WAV/FLAC/OGG/MP3)")
    parser.add_argument("--beam-size", type=int, default=1, help="1 = greedy (default)")
    parser.add_argument("--timestamps", action="store_true", help="segment start/end times")
    args = parser.parse_args(argv)
    if args.beam_size < 1:
        parser.error("--beam-size must be at least 1")
    try:
        inputs = InputPaths(args.inputs, AUDIO_EXTENSIONS)
        predictor = Predictor.load(args.model, runs_dir=args.runs_dir)
    except (ValueError, OSError) as error:
        return report_error(error)

    options = {"beam_size": args.beam_size, "timestamps": args.timestamps}
    return predict_cli.run(
        inputs,
        decode=decode_audio,
        predict=predict_cli.one_at_a_time(
            lambda clip, source: predictor.predict(clip, source=source, **options)
        ),
        output=predict_cli.Output(describe, CSV_COLUMNS, csv_rows),
        mode=predict_cli.output_mode(args),
        unit="clip",
    )


if __name__ == "__main__":
    sys.exit(main())
