"""Tests for shared.audio: good and bad corpora, all generated in code."""

import io
import random

import numpy as np
import pytest
import soundfile

from shared import audio
from shared.audio import AudioDecodeError, decode_audio, duration_seconds, encode_wav

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(13) + b"IHDR" + bytes(64)


def _sine(sample_rate, seconds=2.0, frequency=440.0, channels=1, amplitude=0.5):
    time = np.arange(round(sample_rate * seconds)) / sample_rate
    wave = amplitude * np.sin(2 * np.pi * frequency * time)
    return wave if channels == 1 else np.stack([wave] * channels, axis=1)


def _encode(samples, sample_rate, format="WAV", subtype=None):
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, sample_rate, format=format, subtype=subtype)
    return buffer.getvalue()


def _peak_frequency(samples, sample_rate=16000):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return np.argmax(spectrum) * sample_rate / len(samples)


def _assert_mono_sine(samples, seconds=2.0, frequency=440.0, length_slack=1):
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - round(16000 * seconds)) <= length_slack
    assert np.abs(samples).max() <= 1.0
    assert abs(_peak_frequency(samples) - frequency) < 2.0


class FakeUpload(io.BytesIO):
    """Mimics Streamlit's UploadedFile: a BytesIO with a `.name`."""

    def __init__(self, data, name):
        super().__init__(data)
        self.name = name


# ---- good corpus -------------------------------------------------------------


def test_constants_and_formats():
    assert audio.TARGET_SAMPLE_RATE == 16000
    assert audio.DEFAULT_MAX_SECONDS == 600
    assert audio.DEFAULT_MAX_BYTES == 100 * 1024 * 1024
    assert {"WAV", "FLAC", "OGG/Vorbis"} <= set(audio.ACCEPTED_FORMATS)
    assert {".wav", ".flac", ".ogg"} <= set(audio.AUDIO_EXTENSIONS)
    assert issubclass(AudioDecodeError, ValueError)


def test_wav_round_trip_16k_mono():
    original = _sine(16000).astype(np.float32)
    decoded = decode_audio(encode_wav(original))
    assert decoded.dtype == np.float32 and decoded.shape == original.shape
    np.testing.assert_allclose(decoded, original, atol=1e-4)
    assert duration_seconds(decoded) == pytest.approx(2.0)


def test_44k_stereo_is_mixed_to_mono_and_resampled():
    decoded = decode_audio(_encode(_sine(44100, channels=2), 44100))
    _assert_mono_sine(decoded)


def test_stereo_channels_are_averaged():
    left = _sine(16000, amplitude=0.8)
    decoded = decode_audio(_encode(np.stack([left, np.zeros_like(left)], axis=1), 16000))
    np.testing.assert_allclose(decoded, left / 2, atol=1e-4)


@pytest.mark.parametrize("sample_rate", [8000, 22050, 48000, 96000])
def test_any_sample_rate_is_resampled_to_16k(sample_rate):
    _assert_mono_sine(decode_audio(_encode(_sine(sample_rate), sample_rate)))


def test_custom_output_sample_rate():
    decoded = decode_audio(encode_wav(_sine(16000)), sample_rate=8000)
    assert abs(len(decoded) - 16000) <= 1
    assert abs(_peak_frequency(decoded, 8000) - 440) < 2


@pytest.mark.parametrize(
    ("format", "subtype", "sample_rate", "slack"),
    [
        ("FLAC", None, 44100, 1),
        ("OGG", "VORBIS", 16000, 1),
        ("OGG", "OPUS", 48000, 1),
        ("MP3", "MPEG_LAYER_III", 44100, 1),
    ],
)
def test_compressed_formats(format, subtype, sample_rate, slack):
    if not audio._decodable(format, subtype):
        pytest.skip(f"{format}/{subtype} is not supported by this libsndfile")
    data = _encode(_sine(sample_rate), sample_rate, format, subtype)
    _assert_mono_sine(decode_audio(data), length_slack=slack)


@pytest.mark.parametrize(
    ("subtype", "atol"),
    [("PCM_U8", 1e-2), ("PCM_16", 1e-4), ("PCM_24", 1e-6), ("PCM_32", 1e-6), ("FLOAT", 1e-7)],
)
def test_wav_subtypes_are_scaled_to_unit_range(subtype, atol):
    original = _sine(16000, amplitude=0.9)
    decoded = decode_audio(_encode(original, 16000, "WAV", subtype))
    np.testing.assert_allclose(decoded, original, atol=atol)


@pytest.mark.parametrize("sample_rate", [16000, 44100])
def test_float_wav_beyond_full_scale_and_nan_is_clipped(sample_rate):
    samples = np.array([0.0, 2.5, -3.0, np.nan, np.inf, 0.25] * 1000, dtype=np.float32)
    decoded = decode_audio(_encode(samples, sample_rate, "WAV", "FLOAT"))
    assert np.isfinite(decoded).all() and np.abs(decoded).max() <= 1.0
    if sample_rate == 16000:  # Resampling low-passes this 6-sample pattern away.
        assert decoded[1] == 1.0 and decoded[2] == -1.0 and decoded[5] == 0.25


def test_silence_is_fine():
    decoded = decode_audio(encode_wav(np.zeros(8000)))
    assert decoded.shape == (8000,) and not decoded.any()


def test_bytes_file_like_and_path_inputs_agree(tmp_path):
    data = _encode(_sine(22050, channels=2), 22050, "FLAC")
    path = tmp_path / "tone.flac"
    path.write_bytes(data)
    reference = decode_audio(data)
    inputs = [bytearray(data), memoryview(data), io.BytesIO(data), FakeUpload(data, "x.flac")]
    for source in [*inputs, str(path), path]:
        np.testing.assert_array_equal(decode_audio(source), reference)


def test_error_names_the_source(tmp_path):
    with pytest.raises(AudioDecodeError, match=r"^upload\.wav: "):
        decode_audio(FakeUpload(b"not audio", "upload.wav"))
    with pytest.raises(AudioDecodeError, match=r"^custom: "):
        decode_audio(b"not audio", name="custom")
    path = tmp_path / "missing.wav"
    with pytest.raises(AudioDecodeError, match="missing.wav: the file does not exist"):
        decode_audio(path)


def test_encode_wav_is_16_bit_pcm_and_checks_input():
    info = soundfile.info(io.BytesIO(encode_wav(_sine(8000, channels=2), 8000)))
    assert (info.format, info.subtype, info.channels, info.samplerate) == ("WAV", "PCM_16", 2, 8000)
    with pytest.raises(ValueError, match="float array"):
        encode_wav(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="float array"):
        encode_wav(np.array(["a"]))


def test_wrong_source_type_and_arguments():
    with pytest.raises(TypeError, match="decode_audio expects bytes"):
        decode_audio(12345)
    with pytest.raises(ValueError, match="sample_rate"):
        decode_audio(encode_wav(np.zeros(10)), sample_rate=0)
    with pytest.raises(ValueError, match="max_seconds"):
        decode_audio(encode_wav(np.zeros(10)), max_seconds=float("inf"))


# ---- bad corpus --------------------------------------------------------------


def _truncated_wav():
    data = encode_wav(_sine(16000))  # The header still says 32,000 frames.
    return data[: len(data) // 2]


def _truncated_flac():
    data = _encode(_sine(16000), 16000, "FLAC")
    return data[: len(data) // 2]


def _three_seconds():
    return encode_wav(_sine(16000, seconds=3.0))


BAD_CORPUS = {
    "zero bytes": (lambda: b"", {}, "empty"),
    "truncated wav": (_truncated_wav, {}, "truncated"),
    "truncated flac": (_truncated_flac, {}, "truncated"),
    "random bytes": (lambda: random.Random(0).randbytes(5000), {}, "not recognised audio"),
    "text named .wav": (lambda: b"hello, this is not a sound\n" * 20, {}, "text, not audio"),
    "png image": (lambda: PNG_BYTES, {}, "PNG image, not audio"),
    "zero frames": (lambda: encode_wav(np.zeros(0)), {}, "contains no audio"),
    "too long": (_three_seconds, {"max_seconds": 1}, r"3\.0 s long; the limit is 1 s"),
    "too many bytes": (_three_seconds, {"max_bytes": 1000}, "larger than the limit of 1,000"),
    "aiff not accepted": (lambda: _encode(_sine(8000), 8000, "AIFF"), {}, "AIFF.*not accepted"),
}


@pytest.mark.parametrize("case", BAD_CORPUS, ids=list(BAD_CORPUS))
@pytest.mark.parametrize("kind", ["bytes", "path"])
def test_bad_corpus_raises_clear_error(case, kind, tmp_path):
    make, options, problem = BAD_CORPUS[case]
    source = make()
    if kind == "path":
        source = tmp_path / "input.wav"
        source.write_bytes(make())
    with pytest.raises(AudioDecodeError, match=problem) as caught:
        decode_audio(source, name="input.wav", **options)
    assert "Accepted audio formats: WAV, FLAC" in str(caught.value)


@pytest.mark.parametrize("source", ["does/not/exist.wav", "directory"])
def test_missing_path_or_directory(source, tmp_path):
    source = tmp_path if source == "directory" else tmp_path / source
    with pytest.raises(AudioDecodeError, match="does not exist|a directory") as caught:
        decode_audio(source)
    assert "Accepted audio formats" in str(caught.value)


def test_huge_path_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.wav"
    path.write_bytes(encode_wav(np.zeros(16000)))
    with pytest.raises(AudioDecodeError, match="larger than the limit of 100 bytes"):
        decode_audio(path, max_bytes=100)


# ---- property style: random damage never escapes as anything but ValueError ---


def _mutate(data, rng):
    data = bytearray(data)
    choice = rng.randrange(3)
    if choice == 0:
        return bytes(data[: rng.randrange(len(data))])
    for _ in range(rng.randint(1, 20)):
        # Bias flips towards the header, where parsers make their decisions.
        position = rng.randrange(min(len(data), 128) if rng.random() < 0.5 else len(data))
        data[position] = rng.randrange(256)
    return bytes(data[: rng.randrange(len(data))]) if choice == 2 else bytes(data)


def test_random_mutations_give_audio_or_value_error():
    rng = random.Random(1234)
    originals = [
        encode_wav(_sine(16000, seconds=0.5, channels=2)),
        _encode(_sine(22050, seconds=0.5), 22050, "FLAC"),
    ]
    outcomes = {"audio": 0, "error": 0}
    for index in range(200):
        data = _mutate(originals[index % 2], rng)
        try:
            samples = decode_audio(data, max_seconds=30)
        except AudioDecodeError:  # A ValueError; anything else fails the test.
            outcomes["error"] += 1
            continue
        assert samples.dtype == np.float32 and samples.ndim == 1 and samples.size > 0
        assert np.isfinite(samples).all() and np.abs(samples).max() <= 1.0
        outcomes["audio"] += 1
    assert outcomes["audio"] > 0 and outcomes["error"] > 0
