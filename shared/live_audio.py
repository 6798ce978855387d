"""Live speech: microphone frames → 16 kHz mono → utterances cut at silence → text.

``to_mono_float`` turns one WebRTC audio frame's samples into mono float32; ``Segmenter``
accumulates 16 kHz audio and cuts an utterance when a pause follows speech (or when it
reaches ``max_seconds``); ``LiveTranscriber`` ties them together: it receives frames on the
media thread, resamples them, and hands each utterance to a worker thread that calls the
``transcribe`` (and ``translate``) callables it was given, so a slow model never stalls the
stream. Nothing here imports Streamlit or an app.
"""

import logging
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from shared.audio import TARGET_SAMPLE_RATE

_LOG = logging.getLogger(__name__)
MAX_PENDING = 2  # utterances waiting for the model; older ones are dropped beyond that


def to_mono_float(samples, channels, planar):
    """An (channels, n) planar or (1, n * channels) interleaved array → mono float32 in
    [-1, 1] (integer PCM is scaled by its type's range)."""
    samples = np.asarray(samples)
    scale = float(np.iinfo(samples.dtype).max) + 1 if samples.dtype.kind == "i" else 1.0
    audio = samples.astype("float32") / scale
    audio = audio if planar else audio.reshape(-1, channels).T
    return audio.reshape(channels, -1).mean(axis=0)


class Segmenter:
    """Cut a stream of 16 kHz audio into utterances.

    Args:
        threshold: RMS above which a block counts as speech.
        pause_seconds: silence after speech that ends an utterance.
        min_seconds: utterances shorter than this wait for more audio.
        max_seconds: an utterance is cut here even without a pause.
        preroll_seconds: silence kept before speech starts (so its first sound is whole).
    """

    def __init__(
        self,
        *,
        threshold=0.01,
        pause_seconds=0.6,
        min_seconds=1.0,
        max_seconds=6.0,
        preroll_seconds=0.3,
        sample_rate=TARGET_SAMPLE_RATE,
    ):
        self.threshold, self.rate = threshold, sample_rate
        self.pause = int(pause_seconds * sample_rate)
        self.min_length = int(min_seconds * sample_rate)
        self.max_length = int(max_seconds * sample_rate)
        self.preroll = int(preroll_seconds * sample_rate)
        self.blocks, self.length, self.heard, self.quiet = [], 0, False, 0

    def push(self, audio):
        """Add a block of samples; returns the utterances it completed (maybe none)."""
        audio = np.asarray(audio, "float32")
        if not audio.size:
            return []
        loud = float(np.sqrt(np.mean(audio**2))) > self.threshold
        self.blocks.append(audio)
        self.length += audio.size
        self.heard = self.heard or loud
        self.quiet = 0 if loud else self.quiet + audio.size
        if not self.heard:  # only silence so far: keep the pre-roll
            while self.blocks and self.length - self.blocks[0].size >= self.preroll:
                self.length -= self.blocks.pop(0).size
            return []
        paused = self.quiet >= self.pause and self.length >= self.min_length
        if paused or self.length >= self.max_length:
            return [self.flush()]
        return []

    def flush(self):
        """The audio held so far (an empty array when nothing was heard); starts afresh."""
        utterance = np.concatenate(self.blocks) if self.heard else np.zeros(0, "float32")
        self.blocks, self.length, self.heard, self.quiet = [], 0, False, 0
        return utterance


@dataclass
class Line:
    """One transcribed utterance."""

    heard: str
    translation: str | None
    seconds: float
    latency_ms: float


class LiveTranscriber:
    """Frames in (media thread), ``Line``s out (``lines()``, from any thread).

    Args:
        transcribe: ``transcribe(audio16k) -> str``.
        translate: ``translate(text) -> str`` or None.
        segmenter: how utterances are cut (a default ``Segmenter``).
    """

    def __init__(self, transcribe, translate=None, segmenter=None, max_lines=50):
        self.transcribe, self.translate = transcribe, translate
        self.segmenter = segmenter or Segmenter()
        self._lines = deque(maxlen=max_lines)
        self._lock = threading.Lock()
        self._resampler, self._rate = None, None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-speech")
        self.pending, self.dropped, self.error = 0, 0, None
        self.level = 0.0  # the last frame's RMS, for a level meter

    def set_models(self, transcribe, translate=None):
        """Use other callables from the next utterance on (the page's choice changed)."""
        self.transcribe, self.translate = transcribe, translate

    def on_frame(self, samples, sample_rate, channels=1, planar=False):
        """One audio frame's samples (as ``av.AudioFrame.to_ndarray()`` gives them)."""
        import soxr

        audio = to_mono_float(samples, channels, planar)
        self.level = float(np.sqrt(np.mean(audio**2))) if audio.size else 0.0
        if sample_rate != TARGET_SAMPLE_RATE:
            if self._resampler is None or self._rate != sample_rate:
                self._resampler = soxr.ResampleStream(sample_rate, TARGET_SAMPLE_RATE, 1)
                self._rate = sample_rate
            audio = self._resampler.resample_chunk(audio)
        for utterance in self.segmenter.push(audio):
            self.submit(utterance)

    def submit(self, utterance):
        """Transcribe ``utterance`` on the worker (dropped when the worker is behind)."""
        with self._lock:
            if self.pending >= MAX_PENDING:
                self.dropped += 1
                return
            self.pending += 1
        self._pool.submit(self._work, utterance)

    def _work(self, utterance):
        try:
            start = time.perf_counter()
            heard = (self.transcribe(utterance) or "").strip()
            translation = self.translate(heard) if heard and self.translate else None
            latency = (time.perf_counter() - start) * 1000
            if heard:
                line = Line(heard, translation, utterance.size / TARGET_SAMPLE_RATE, latency)
                with self._lock:
                    self._lines.append(line)
        except Exception as error:  # noqa: BLE001 - shown on the page, the stream goes on
            _LOG.exception("live transcription failed")
            self.error = f"{type(error).__name__}: {error}"
        finally:
            with self._lock:
                self.pending -= 1

    def lines(self):
        """The transcribed lines so far, oldest first."""
        with self._lock:
            return list(self._lines)

    def clear(self):
        with self._lock:
            self._lines.clear()
        self.error = None
