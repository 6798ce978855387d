"""shared.audio on files shaped like those found in the wild: MP3s whose VBR header
overstates the length, WAVs from streaming recorders with placeholder sizes, extra chunks
and every common sample format. Players play them all; so must decode_audio."""

import io
import struct

import numpy as np
import pytest
import soundfile

from shared import audio
from shared.audio import AudioDecodeError, decode_audio

SECONDS = 1.5
MP3_SECONDS = 3.0  # long enough that a 6% overstatement is thousands of samples
MP3_FRAME = 1152  # samples in one MPEG-1 Layer III frame: the slack of an MP3 length


def _tone(sample_rate, channels, seconds=SECONDS):
    time = np.arange(round(sample_rate * seconds)) / sample_rate
    wave = 0.5 * np.sin(2 * np.pi * 440 * time)
    return wave if channels == 1 else np.stack([wave, -wave / 2][:channels], axis=1)


# ---- MP3 ---------------------------------------------------------------------


def _mp3(sample_rate=16000, channels=1, seconds=MP3_SECONDS):
    if not audio._decodable("MP3", None):
        pytest.skip("this libsndfile cannot read MP3")
    if "MPEG_LAYER_III" not in soundfile.available_subtypes("MP3"):
        pytest.skip("this libsndfile cannot write MP3")
    buffer = io.BytesIO()
    samples = _tone(sample_rate, channels, seconds)
    soundfile.write(buffer, samples, sample_rate, format="MP3", subtype="MPEG_LAYER_III")
    return bytearray(buffer.getvalue())


def _overstate_vbr_frames(data, factor=None, frames=None, tag=b"Xing"):
    """Patch the Xing/Info header's frame count, as a sloppy encoder or a cut file leaves it."""
    offset = data.find(b"Xing")
    assert offset > 0, "libsndfile wrote no Xing header"
    flags, stated = struct.unpack(">II", data[offset + 4 : offset + 12])
    assert flags & 1, "the Xing header holds no frame count"
    data[offset : offset + 4] = tag
    data[offset + 8 : offset + 12] = struct.pack(">I", frames or int(stated * factor))
    return bytes(data)


@pytest.mark.parametrize(
    ("label", "patch"),
    [
        ("Xing frames +6%", dict(factor=1.065)),
        ("Info frames +6%", dict(factor=1.065, tag=b"Info")),
        ("Xing frames +30%", dict(factor=1.3)),
        ("Xing frames far past the length limit", dict(frames=0x00FFFFFF)),
    ],
)
@pytest.mark.parametrize(("sample_rate", "channels"), [(16000, 1), (44100, 2)])
def test_mp3_whose_vbr_header_overstates_the_length_decodes(label, patch, sample_rate, channels):
    data = _overstate_vbr_frames(_mp3(sample_rate, channels), **patch)
    decoded = decode_audio(data, name="speech.mp3")
    assert decoded.dtype == np.float32 and decoded.ndim == 1
    assert abs(len(decoded) - MP3_SECONDS * 16000) <= MP3_FRAME, label
    assert np.abs(decoded).max() > 0.1


def test_mp3_that_decodes_to_nothing_is_still_refused():
    data = _mp3()
    header_only = data[: data.find(b"Xing") + 200]  # the header frame, no audio frames
    with pytest.raises(AudioDecodeError, match=r"^clip\.mp3: ") as caught:
        decode_audio(bytes(header_only), name="clip.mp3")
    assert "\n" not in str(caught.value)


def test_mp3_over_the_length_limit_is_refused_while_decoding():
    data = _mp3(seconds=3.0)
    with pytest.raises(AudioDecodeError, match=r"^long\.mp3: the audio is .*the limit is 2 s"):
        decode_audio(data, name="long.mp3", max_seconds=2)


# ---- WAV ---------------------------------------------------------------------

# (WAVE format tag, bits per sample, numpy dtype of the stored samples, full scale)
WAV_CODECS = {
    "PCM_U8": (1, 8, "uint8", 127.5),
    "PCM_16": (1, 16, "<i2", 32767),
    "PCM_24": (1, 24, None, 2**23 - 1),
    "FLOAT": (3, 32, "<f4", 1.0),
}


def _pcm_bytes(samples, codec):
    _, bits, dtype, scale = WAV_CODECS[codec]
    if codec == "PCM_U8":
        return np.round(samples * scale + 127.5).astype("uint8").tobytes()
    if codec == "PCM_24":
        whole = np.round(samples * scale).astype("<i4").reshape(-1, 1).view("uint8")
        return whole[:, :3].tobytes()  # little-endian: the low three bytes
    return (np.round(samples * scale) if scale != 1.0 else samples).astype(dtype).tobytes()


def _chunk(name, body):
    return name + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)


def _wav(samples, sample_rate, codec, *, riff_size=None, data_size=None, extra=(), after_data=b""):
    """A WAV written by hand, so every size field and chunk can be what recorders write."""
    tag, bits, _, _ = WAV_CODECS[codec]
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, sample_rate, sample_rate * block, block, bits)
    payload = _pcm_bytes(samples.reshape(-1), codec)
    data = b"data" + struct.pack("<I", len(payload) if data_size is None else data_size)
    body = b"WAVE" + _chunk(b"fmt ", fmt) + b"".join(extra) + data + payload + after_data
    size = len(body) if riff_size is None else riff_size
    return b"RIFF" + struct.pack("<I", size) + body


LIST_INFO = _chunk(b"LIST", b"INFOISFT" + struct.pack("<I", 14) + b"Lavf58.76.100\0")
ODD_CHUNK = _chunk(b"junk", b"odd")  # an odd length: a pad byte follows

REAL_WORLD_WAVS = {
    "riff size 0": dict(riff_size=0),
    "riff size 0xFFFFFFFF (streamed)": dict(riff_size=0xFFFFFFFF),
    "riff size past the end": dict(riff_size=10_000_000),
    "data size 0xFFFFFFFF (ffmpeg to a pipe)": dict(data_size=0xFFFFFFFF),
    "data size 0x7FFFFFFF (arecord to a pipe)": dict(data_size=0x7FFFFFFF),
    "data size 0 (recorder never finalised)": dict(data_size=0),
    "both sizes 0": dict(riff_size=0, data_size=0),
    "LIST chunk before data": dict(extra=(LIST_INFO,)),
    "odd-length chunk before data": dict(extra=(ODD_CHUNK, LIST_INFO)),
    "LIST chunk after data": dict(after_data=LIST_INFO),
}


@pytest.mark.parametrize("codec", list(WAV_CODECS))
@pytest.mark.parametrize("case", REAL_WORLD_WAVS, ids=list(REAL_WORLD_WAVS))
def test_real_world_wav_headers_decode_to_every_sample(case, codec):
    samples = _tone(16000, 1)
    data = _wav(samples, 16000, codec, **REAL_WORLD_WAVS[case])
    decoded = decode_audio(data, name="recording.wav")
    assert len(decoded) == len(samples)
    np.testing.assert_allclose(decoded, samples, atol=1e-2 if codec == "PCM_U8" else 1e-4)


@pytest.mark.parametrize("codec", list(WAV_CODECS))
@pytest.mark.parametrize(("sample_rate", "channels"), [(8000, 1), (16000, 2), (44100, 2)])
def test_wav_codecs_rates_and_channels(codec, sample_rate, channels):
    samples = _tone(sample_rate, channels)
    decoded = decode_audio(_wav(samples, sample_rate, codec, extra=(LIST_INFO,)))
    assert abs(len(decoded) - SECONDS * 16000) <= 1
    mono = samples if channels == 1 else samples.mean(axis=1)
    if sample_rate == 16000:
        np.testing.assert_allclose(decoded, mono, atol=1e-2 if codec == "PCM_U8" else 1e-4)


@pytest.mark.parametrize(
    ("layout", "problem"),
    [
        (dict(data_size=10_000_000), "WAV data chunk is truncated"),
        (dict(data_size=0, payload=b""), "contains no audio"),
        (dict(data_size=0, payload=b"", after_data=LIST_INFO), "contains no audio"),
    ],
    ids=["data size past the end", "empty data, size 0", "empty data, then a LIST chunk"],
)
def test_broken_wavs_give_one_line_naming_the_file(layout, problem, tmp_path):
    layout = dict(layout)
    samples = _tone(16000, 1) if layout.pop("payload", None) is None else np.zeros(0)
    path = tmp_path / "field recording.wav"
    path.write_bytes(_wav(samples, 16000, "PCM_16", **layout))
    with pytest.raises(AudioDecodeError, match=problem) as caught:
        decode_audio(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message


def test_silent_streamed_wav_is_silence_not_empty():
    samples = np.zeros(8000)  # zero bytes must not be mistaken for empty chunks
    decoded = decode_audio(_wav(samples, 16000, "PCM_16", data_size=0, after_data=b""))
    assert decoded.shape == (8000,) and not decoded.any()


def test_mp3_cut_short_plays_what_is_there():
    data = _mp3()
    decoded = decode_audio(bytes(data[: len(data) // 2]), name="cut.mp3")
    assert 0.3 * MP3_SECONDS * 16000 < len(decoded) < 0.7 * MP3_SECONDS * 16000
