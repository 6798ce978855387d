"""Whisper hears 30 seconds at a time: long audio is decoded window after window, each one
starting where the last complete segment of the one before ended (Whisper's own long-form
rule), the windows' timestamp tokens become the transcript's segments, and a window with
no speech in it (Whisper's no-speech rule, ``is_silent``) adds no words."""

import zlib
from dataclasses import dataclass

import numpy as np

from apps.speech.model import SAMPLE_RATE

WINDOW_SECONDS = 30
TIMESTAMP_SECONDS = 0.02
# How far before a cut the next window may start, to find the pause the cut meant.
SEEK_BACK_SECONDS = 0.3
# openai-whisper's transcribe: a window is silent when its no-speech probability is over
# this and the average log-probability of its decoded tokens is below the next one, or
# (its repetition threshold) the text gzips more than this ratio; see ``is_silent``.
NO_SPEECH_THRESHOLD = 0.6
LOGPROB_THRESHOLD = -1.0
COMPRESSION_RATIO_THRESHOLD = 2.4
# Whisper sure there is no speech: the window is not decoded (silence, a beep, hum).
NO_SPEECH_CERTAIN = 0.7


@dataclass
class Segment:
    """A stretch of the transcript with its start and end in seconds."""

    start: float
    end: float
    text: str


def split_windows(audio, sample_rate=SAMPLE_RATE, seconds=WINDOW_SECONDS):
    """Cut audio into consecutive windows of ``seconds`` (the last one shorter)."""
    size = int(sample_rate * seconds)
    return [audio[start : start + size] for start in range(0, max(len(audio), 1), size)]


def segments_from_tokens(tokens, tokenizer, offset, end=None):
    """Segments from timestamp-token pairs ``<|t0|> text <|t1|>`` of one window.

    Args:
        offset: the window's start in seconds.
        end: the window's end in seconds (None: no end). No segment ends after it, and
            text after an opening timestamp that never closed ends there (without an
            ``end`` such text is left out).
    """
    begin = tokenizer.special_ids["timestamp_begin"]
    segments, start, text_ids = [], None, []

    def close(end_s):
        text = tokenizer.decode(text_ids).strip()
        if text:
            segments.append(Segment(round(start, 2), round(max(end_s, start), 2), text))

    for token in tokens:
        if token < begin:
            text_ids.append(token)
            continue
        time_s = offset + (token - begin) * TIMESTAMP_SECONDS
        if start is None:
            start = time_s
        else:
            close(time_s if end is None else min(time_s, end))
            start, text_ids = None, []
    if start is not None and end is not None:
        close(end)
    return segments


def complete_segments(tokens, timestamp_begin):
    """Whisper's long-form rule: keep a window's complete segments, hear the rest again.

    A segment closes with a timestamp and the next one opens with another; text after the
    last such pair was cut off by the window's end, so the next window starts there.

    Returns:
        ``(tokens kept, seconds into the window where the next window starts)``; the
        seconds are None when the whole window is done: its last segment closed with
        nothing after it (no more speech in the window), or no pair marks a place to cut.
    """
    stamps = [token >= timestamp_begin for token in tokens]
    pairs = [i for i in range(1, len(tokens)) if stamps[i - 1] and stamps[i]]
    if not pairs or stamps[-2:] == [False, True]:
        return list(tokens), None
    cut = pairs[-1]
    return list(tokens[:cut]), round((tokens[cut - 1] - timestamp_begin) * TIMESTAMP_SECONDS, 2)


def quiet_start(audio, seek, kept, cut_seconds, timestamp_begin):
    """The sample where the window after a cut one starts (see ``complete_segments``).

    Whisper's timestamps can lag the speech by a tenth of a second or more, and starting
    the next window at a late one clips the onset of its first word. So it starts at the
    quietest 20 ms (the latest of equals) from the cut back by ``SEEK_BACK_SECONDS``, but
    after the last kept segment's start.

    Args:
        audio: the whole clip; ``seek``: the cut window's first sample.
        kept: the window's kept tokens; ``cut_seconds``: the cut, into the window.
    """
    frame = round(TIMESTAMP_SECONDS * SAMPLE_RATE)
    opening = [token for token in kept[:-1] if token >= timestamp_begin][-1]
    cut = seek + round(cut_seconds * SAMPLE_RATE)
    earliest = max(
        seek + (opening - timestamp_begin + 1) * frame,
        cut - round(SEEK_BACK_SECONDS * SAMPLE_RATE),
    )
    starts = range(cut, earliest - 1, -frame)
    energies = [float(np.square(audio[start : start + frame]).mean()) for start in starts]
    return starts[int(np.argmin(energies))]  # the first minimum: the latest in time


def is_silent(no_speech, hypothesis, text):
    """Whisper's no-speech rule (openai-whisper's transcribe): the no-speech probability is
    over 0.6 and the decoded tokens' average log-probability (end of text included) is
    below -1. Whisper is often confident in what it writes for a beep or silence ("you",
    "beep beep beep..."), so a text that repeats itself (gzip ratio over 2.4, openai-whisper's
    repetition threshold) counts as unlikely too; over 0.7 the window is silent whatever
    was decoded (``_hypothesis`` does not decode it)."""
    if no_speech is None or no_speech <= NO_SPEECH_THRESHOLD:
        return False
    average = hypothesis.log_prob / (len(hypothesis.tokens) + 1)
    data = text.encode("utf-8")
    repeats = bool(data) and len(data) / len(zlib.compress(data)) > COMPRESSION_RATIO_THRESHOLD
    return no_speech > NO_SPEECH_CERTAIN or average < LOGPROB_THRESHOLD or repeats


def silence_note(windows):
    """The note of a transcript whose windows' ``(no-speech probability, silent)`` are
    ``windows``: empty unless some were silent."""
    silent = [probability for probability, is_quiet in windows if is_quiet]
    if not silent:
        return ""
    if len(silent) < len(windows):
        return f"No speech in {len(silent)} of {len(windows)} 30-second windows: left out."
    return (
        f"No speech heard (no-speech probability {max(silent):.2f}): silence, a tone or "
        "a beep gives no transcript."
    )
