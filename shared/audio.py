"""Safe audio decoding shared by the CLI and the Streamlit UI."""

import io
import math
import os

import numpy as np
import soundfile
import soxr

from shared.sources import looks_like_text, read_source_bytes, source_name

TARGET_SAMPLE_RATE = 16000
DEFAULT_MAX_SECONDS = 600
DEFAULT_MAX_BYTES = 100 * 1024 * 1024

# (label, libsndfile container, required subtype or None, file extensions).
_CANDIDATES = (
    ("WAV", "WAV", None, (".wav",)),
    ("FLAC", "FLAC", None, (".flac",)),
    ("OGG/Vorbis", "OGG", "VORBIS", (".ogg", ".oga")),
    ("OGG/Opus", "OGG", "OPUS", (".opus",)),
    ("MP3", "MP3", None, (".mp3",)),
)


def _decodable(container, subtype):
    formats = soundfile.available_formats()
    return container in formats and subtype in (None, *soundfile.available_subtypes(container))


# Only claim what this libsndfile build can actually decode (Opus and MP3 need 1.1+).
_SUPPORTED = tuple(row for row in _CANDIDATES if _decodable(row[1], row[2]))
ACCEPTED_FORMATS = tuple(row[0] for row in _SUPPORTED)
AUDIO_EXTENSIONS = tuple(extension for row in _SUPPORTED for extension in row[3])

_ACCEPTED_TEXT = f"Accepted audio formats: {', '.join(ACCEPTED_FORMATS)}."
_WAV_VARIANTS = {"WAVEX": "WAV", "RF64": "WAV"}
_AUDIO_MAGIC = {b"RIFF": "WAV", b"fLaC": "FLAC", b"OggS": "OGG", b"ID3": "MP3"}
_OTHER_MAGIC = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"%PDF": "a PDF"}
_SAMPLE_RATE_RANGE = (1000, 768000)
_UNKNOWN_FRAMES = 2**62  # libsndfile reports SF_COUNT_MAX when the length is unknown.
_UNKNOWN_WAV_SIZES = (0, 0x7FFFFFFF, 0xFFFFFFFF)  # what streaming writers leave in the header


class AudioDecodeError(ValueError):
    """The input is not decodable audio in one of the accepted formats."""


def _error(name, problem):
    return AudioDecodeError(f"{name}: {problem}. {_ACCEPTED_TEXT}")


def _too_many_bytes(name, max_bytes):
    return _error(name, f"the file is larger than the limit of {max_bytes:,} bytes")


def _too_long(name, length, max_seconds):
    return _error(name, f"the audio is {length}; the limit is {max_seconds:g} s (trim or split it)")


def _describe_unidentified(data, name):
    """Say, as precisely as we can, what `data` is when libsndfile did not take it."""
    for magic, label in _AUDIO_MAGIC.items():
        if data.startswith(magic):
            return f"this looks like {label} data, but it is damaged or truncated"
    for magic, label in _OTHER_MAGIC.items():
        if data.startswith(magic):
            return f"this is {label}, not audio"
    if looks_like_text(data):
        extension = os.path.splitext(name)[1]
        if extension.lower() in AUDIO_EXTENSIONS:
            return f"the content is text, not audio, despite the {extension} name"
        return "the content is text, not audio"
    return f"the content is not recognised audio (it starts with {data[:8]!r})"


def _wav_data_chunk(data):
    """``(offset, declared size)`` of a RIFF/WAVE file's data chunk, or None."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    offset = 12
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        if data[offset : offset + 4] == b"data":
            return offset, size
        offset += 8 + size + (size & 1)  # Chunks are padded to an even length.
    return None


def _only_chunks(data):
    """Whether ``data`` is a whole number of well-formed RIFF chunks (LIST, id3 ...)."""
    offset = 0
    # Chunk ids are letters, digits and trailing spaces; audio (even silence) is not.
    while offset + 8 <= len(data) and data[offset : offset + 4].rstrip(b" ").isalnum():
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        offset += 8 + size + (size & 1)
    return offset in (len(data), len(data) + 1)


def _repair_wav(data, name):
    """Size a streamed WAV's data chunk from the file; refuse one that was cut short.

    Recorders writing to a pipe cannot go back to fill in the size: they leave 0,
    0x7FFFFFFF (arecord) or 0xFFFFFFFF (ffmpeg), and players read such data to the end.
    libsndfile reads 0 as empty, so the size is filled in here.
    """
    found = _wav_data_chunk(data)
    if found is None:
        return data
    offset, size = found
    remaining = len(data) - offset - 8
    if size == 0 and remaining > 0 and not _only_chunks(data[offset + 8 :]):
        filled = min(remaining, 0xFFFFFFFF).to_bytes(4, "little")
        return data[: offset + 4] + filled + data[offset + 8 :]
    # libsndfile silently shortens a chunk the file does not hold: a cut download.
    if size not in _UNKNOWN_WAV_SIZES and size > remaining:
        raise _error(name, "the WAV data chunk is truncated (the file was cut short)")
    return data


def _exact_frames(sound):
    """The header's length in frames where it is exact, else 0 (unknown or estimated)."""
    # An MP3 header's length is an estimate (a Xing/Info frame count or bitrate × size),
    # often several percent off: only what decodes counts.
    if sound.format == "MP3" or not 0 < sound.frames < _UNKNOWN_FRAMES:
        return 0
    return sound.frames


def _check_header(sound, name, max_seconds):
    """Refuse formats we do not accept and recordings that are too long, before decoding."""
    container = _WAV_VARIANTS.get(sound.format, sound.format)
    if not any(row[1] == container and row[2] in (None, sound.subtype) for row in _SUPPORTED):
        problem = f"this audio is in {sound.format} ({sound.subtype}) format, which is not accepted"
        raise _error(name, problem)
    low, high = _SAMPLE_RATE_RANGE
    if not low <= sound.samplerate <= high:
        problem = f"the sample rate {sound.samplerate:,} Hz is outside {low:,}-{high:,} Hz"
        raise _error(name, problem)
    if _exact_frames(sound) / sound.samplerate > max_seconds:
        raise _too_long(name, f"{sound.frames / sound.samplerate:.1f} s long", max_seconds)


def _read_block(sound, name, frames):
    try:
        return sound.read(frames, dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile and its codecs raise several types on bad data.
        problem = f"the {sound.format} data is damaged or truncated ({exc})"
        raise _error(name, problem) from exc


def _decode_mono(sound, name, sample_rate, max_seconds):
    """Stream-decode `sound`, mixing to mono and resampling block by block."""
    # Streaming bounds memory by the output size, whatever the channels or header claim.
    limit = math.ceil(max_seconds * sound.samplerate)
    block_frames = max(1, 2**20 // sound.channels)
    resampler = None
    if sound.samplerate != sample_rate:
        resampler = soxr.ResampleStream(sound.samplerate, sample_rate, 1, quality="HQ")
    pieces, frames_read, last = [], 0, False
    while not last:
        block = _read_block(sound, name, block_frames)
        frames_read += len(block)
        if frames_read > limit:
            raise _too_long(name, f"longer than {max_seconds:g} s", max_seconds)
        last = len(block) < block_frames
        # Float files may hold NaN, inf or huge values; tame them before resampling.
        mono = np.clip(np.nan_to_num(block.mean(axis=1, dtype=np.float32)), -1.0, 1.0)
        pieces.append(resampler.resample_chunk(mono, last=last) if resampler else mono)
    return np.concatenate(pieces), frames_read


def _check_complete(name, frames_read, expected):
    """Refuse empty audio, and audio that stopped well short of its header's exact length."""
    if frames_read == 0:
        raise _error(name, "the file contains no audio (0 samples)")
    # Ogg lengths come from granule positions, exact up to codec priming; allow 1%.
    if frames_read + max(expected // 100, 2304) < expected:
        problem = f"the audio is truncated ({frames_read:,} of {expected:,} samples decoded)"
        raise _error(name, problem)


def decode_audio(
    source,
    *,
    sample_rate=TARGET_SAMPLE_RATE,
    max_seconds=DEFAULT_MAX_SECONDS,
    max_bytes=DEFAULT_MAX_BYTES,
    name=None,
):
    """Decode untrusted audio into mono float32 samples, refusing anything unsafe.

    Args:
        source: bytes-like, a `str`/`os.PathLike` path, or a binary file-like
            object (e.g. Streamlit's `UploadedFile`).
        sample_rate: output sample rate in Hz; any input rate is resampled (soxr HQ).
        max_seconds: longest accepted duration, checked on the header before decoding
            where the header's length is exact (not MP3's estimate), and while decoding.
        max_bytes: largest accepted encoded size in bytes.
        name: name used in error messages; defaults to the path or `.name`.

    Returns:
        A 1-D float32 `numpy.ndarray` in [-1, 1] at `sample_rate`; channels are averaged.

    Raises:
        AudioDecodeError: (a `ValueError`) for any input that is not safe, decodable
            audio in one of `ACCEPTED_FORMATS`.
    """
    if int(sample_rate) != sample_rate or sample_rate <= 0 or not 0 < max_seconds < math.inf:
        raise ValueError(
            "sample_rate must be a positive integer and max_seconds a positive finite number, "
            f"received sample_rate={sample_rate!r}, max_seconds={max_seconds!r}."
        )
    name = name or source_name(source, "audio")
    data = read_source_bytes(source, name, max_bytes, _error, "audio")
    if not data:
        raise _error(name, "the file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise _too_many_bytes(name, max_bytes)
    data = _repair_wav(data, name)
    try:
        sound = soundfile.SoundFile(io.BytesIO(data))
    except Exception as exc:  # LibsndfileError, or TypeError/ValueError on odd headers.
        raise _error(name, _describe_unidentified(data, name)) from exc
    with sound:
        _check_header(sound, name, max_seconds)
        samples, frames_read = _decode_mono(sound, name, int(sample_rate), max_seconds)
        expected = _exact_frames(sound)
    _check_complete(name, frames_read, expected)
    # Resampling can overshoot full scale slightly.
    return np.clip(samples, -1.0, 1.0).astype(np.float32)


def encode_wav(samples, sample_rate=TARGET_SAMPLE_RATE):
    """Encode float samples in [-1, 1], 1-D or (frames, channels), as 16-bit PCM WAV bytes."""
    samples = np.asarray(samples)
    if samples.ndim not in (1, 2) or not np.issubdtype(samples.dtype, np.floating):
        raise ValueError(
            "encode_wav expects a 1-D or (frames, channels) float array, "
            f"received shape {samples.shape} and dtype {samples.dtype}."
        )
    buffer = io.BytesIO()
    clipped = np.clip(samples.astype(np.float64), -1.0, 1.0)
    soundfile.write(buffer, clipped, int(sample_rate), format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def duration_seconds(samples, sample_rate=TARGET_SAMPLE_RATE):
    """Return the duration in seconds of `samples` (frames along the first axis)."""
    return len(samples) / sample_rate
