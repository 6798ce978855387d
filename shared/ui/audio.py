"""Reusable Streamlit audio widgets: record, upload or pick a sample; a waveform figure.

Like ``shared.ui.widgets.image_input``, every input is decoded safely (``shared.audio``) and
a problem is an ``st.error`` that says what to do, never a traceback.
"""

import os

import numpy as np
import soxr
import streamlit as st
from matplotlib.figure import Figure

from shared.audio import (
    ACCEPTED_FORMATS,
    AUDIO_EXTENSIONS,
    TARGET_SAMPLE_RATE,
    AudioDecodeError,
    decode_audio,
)
from shared.ui.widgets import show_error

MAX_UPLOAD_MB = 25
AUDIO_TYPES = tuple(extension.lstrip(".") for extension in AUDIO_EXTENSIONS)
AUDIO_SOURCES = ("Record", "Upload", "Sample")
FORMATS_TEXT = ", ".join(ACCEPTED_FORMATS)
MEL_BANDS = 80
FFT_SIZE = 400  # 25 ms windows and a 10 ms hop at 16 kHz, as Whisper's own features
HOP_SIZE = 160
WAVEFORM_POINTS = 4000


def decode_upload(uploaded, *, max_mb=MAX_UPLOAD_MB):
    """Decode an ``UploadedFile`` (upload or microphone recording) into 16 kHz float32.

    Returns:
        ``(audio, name)``; ``audio`` is None when nothing was given or the file is not usable
        audio, in which case an ``st.error`` already says why and what to do.
    """
    if uploaded is None:
        return None, None
    name = uploaded.name
    max_bytes = max_mb * 1024 * 1024
    if uploaded.size > max_bytes:
        show_error(
            f"{name} is {uploaded.size / 2**20:.1f} MB; the limit is {max_mb} MB. "
            "Trim or compress the recording (FLAC, OGG or MP3 are smaller) and upload it again."
        )
        return None, name
    try:
        return decode_audio(uploaded.getvalue(), name=name, max_bytes=max_bytes), name
    except ValueError as error:  # AudioDecodeError: the message names the file and the problem
        show_error(error, hint=f"Upload a recording ({FORMATS_TEXT}), or pick a sample.")
        return None, name


def _to_16k(loaded, name):
    """A sample loader's result (a path, or ``(audio, sample_rate)``) as 16 kHz float32."""
    if isinstance(loaded, (str, os.PathLike)):
        return decode_audio(loaded, name=name)
    audio, sample_rate = loaded
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1 or audio.size == 0:
        raise AudioDecodeError(f"{name}: a sample must be non-empty mono audio.")
    if sample_rate != TARGET_SAMPLE_RATE:
        audio = soxr.resample(audio, sample_rate, TARGET_SAMPLE_RATE, quality="HQ")
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


def load_sample(samples, name):
    """Load sample ``name``; ``(audio, name)``, audio None after an ``st.error``."""
    try:
        return _to_16k(samples[name](), name), name
    except (ValueError, OSError) as error:  # a sample file removed or damaged since start-up
        show_error(error, hint="Pick another sample, or upload a recording.")
        return None, name


def audio_input(key, samples, *, default="Sample"):
    """Let the user record from the microphone, upload a file, or pick a sample.

    Args:
        key: prefix for the widget keys (unique per page).
        samples: sample name -> callable returning ``(float audio, sample_rate)`` or a path.
        default: the source selected at first ("Record", "Upload" or "Sample").

    Returns:
        ``(audio, source_name)``: 1-D float32 audio at 16 kHz or None, and the file/sample
        name (None when nothing was given yet).
    """
    sources = AUDIO_SOURCES if samples else AUDIO_SOURCES[:2]
    index = sources.index(default) if default in sources else 0
    source = st.radio("Audio source", sources, index=index, horizontal=True, key=f"{key}_source")
    if source == "Record":
        # Only rendered when chosen, so the browser asks for the microphone only then.
        recording = st.audio_input(
            "Record from the microphone", sample_rate=TARGET_SAMPLE_RATE, key=f"{key}_record"
        )
        return decode_upload(recording)
    if source == "Upload":
        uploaded = st.file_uploader(
            "Upload a recording",
            type=list(AUDIO_TYPES),
            max_upload_size=MAX_UPLOAD_MB,
            key=f"{key}_upload",
            help=f"{FORMATS_TEXT}, up to {MAX_UPLOAD_MB} MB.",
        )
        return decode_upload(uploaded)
    name = st.selectbox("Sample clip", list(samples), key=f"{key}_sample")
    return load_sample(samples, name)


def _hertz_to_mel(hertz):
    return 2595.0 * np.log10(1.0 + hertz / 700.0)


def mel_filterbank(sample_rate, fft_size=FFT_SIZE, bands=MEL_BANDS):
    """Triangular mel filters (HTK scale), shape ``(bands, fft_size // 2 + 1)``."""
    edges_mel = np.linspace(0.0, _hertz_to_mel(sample_rate / 2), bands + 2)
    edges = 700.0 * (10.0 ** (edges_mel / 2595.0) - 1.0)
    frequencies = np.linspace(0.0, sample_rate / 2, fft_size // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (frequencies - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - frequencies) / np.maximum(upper - centre, 1e-9)
    return np.maximum(0.0, np.minimum(rising, falling))


def log_mel_spectrogram(audio, sample_rate):
    """Log-mel power in dB, shape ``(MEL_BANDS, frames)`` (Hann windows, numpy only)."""
    audio = np.asarray(audio, dtype=np.float32)
    audio = np.pad(audio, (0, max(0, FFT_SIZE - len(audio))))
    frames = np.lib.stride_tricks.sliding_window_view(audio, FFT_SIZE)[::HOP_SIZE]
    power = np.abs(np.fft.rfft(frames * np.hanning(FFT_SIZE), axis=1)) ** 2
    mel = mel_filterbank(sample_rate) @ power.T
    decibels = 10.0 * np.log10(np.maximum(mel, 1e-10))
    return np.maximum(decibels, decibels.max() - 80.0)  # an 80 dB range, as most viewers


def _envelope(audio, points=WAVEFORM_POINTS):
    """Per-block minimum and maximum, so long clips plot quickly without hiding peaks."""
    block = max(1, len(audio) // points)
    usable = audio[: len(audio) // block * block].reshape(-1, block)
    return usable.min(axis=1), usable.max(axis=1), block


def waveform_figure(audio, sample_rate=TARGET_SAMPLE_RATE):
    """A figure with the waveform above its log-mel spectrogram, both against time.

    A ``matplotlib.figure.Figure`` outside pyplot: nothing global to close, safe across
    Streamlit's script threads.
    """
    audio = np.asarray(audio, dtype=np.float32)
    figure = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    wave_axes, mel_axes = figure.subplots(2, 1, sharex=True, height_ratios=(1, 2))
    low, high, block = _envelope(audio)
    times = np.arange(len(low)) * block / sample_rate
    wave_axes.fill_between(times, low, high, linewidth=0.5, color="tab:blue")
    wave_axes.set(ylabel="amplitude", ylim=(-1.05, 1.05), title="Waveform")
    spectrogram = log_mel_spectrogram(audio, sample_rate)
    duration = max(len(audio), FFT_SIZE) / sample_rate
    image = mel_axes.imshow(
        spectrogram,
        origin="lower",
        aspect="auto",
        extent=(0.0, duration, 0, MEL_BANDS),
        cmap="magma",
    )
    mel_axes.set(xlabel="time (s)", ylabel="mel band", title="Log-mel spectrogram")
    figure.colorbar(image, ax=mel_axes, label="dB")
    return figure


def show_waveform(audio, sample_rate=TARGET_SAMPLE_RATE):
    """Draw ``waveform_figure`` with ``st.pyplot``; the figure is cleared once rendered."""
    st.pyplot(waveform_figure(audio, sample_rate), clear_figure=True)
