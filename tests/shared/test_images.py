"""Tests for shared.images: good and bad corpora, all generated in code."""

import io
import random
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from shared import images
from shared.images import ImageDecodeError, decode_image, encode_png


def _save(image, format, **params):
    buffer = io.BytesIO()
    image.save(buffer, format=format, **params)
    return buffer.getvalue()


def _png_chunk(kind, body):
    crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _raw_png(width, height, bit_depth, color_type, raw):
    """Build a PNG by hand (valid chunk CRCs) from already-filtered scanlines."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(raw))
        + _png_chunk(b"IEND", b"")
    )


def _noise(size=(64, 48), seed=0):
    rng = np.random.default_rng(seed)
    array = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(array)


def _assert_rgb(array, shape, colour, atol=0):
    assert array.dtype == np.uint8
    assert array.shape == shape
    difference = np.abs(array.astype(int) - np.array(colour)).max()
    assert difference <= atol, (array[0, 0], colour)


def _sixteen_bit_rgb_png():
    pixel = struct.pack(">HHH", 65535, 0, 257 * 100)
    raw = b"".join(b"\x00" + pixel * 8 for _ in range(6))
    return _raw_png(8, 6, 16, 2, raw)


def _orientation_jpeg():
    image = Image.new("RGB", (20, 10), (255, 0, 0))
    image.paste((0, 0, 255), (10, 0, 20, 10))  # Left half red, right half blue.
    exif = Image.Exif()
    exif[0x0112] = 6  # "Rotate 90 degrees clockwise to display."
    return _save(image, "JPEG", exif=exif.tobytes(), quality=95)


def _two_frames(format, **params):
    first = Image.new("RGB", (8, 8), (255, 0, 0))
    second = Image.new("RGB", (8, 8), (0, 0, 255))
    return _save(first, format, save_all=True, append_images=[second], **params)


def _palette(transparent):
    image = Image.new("P", (8, 6), 1)
    image.putpalette([0, 0, 0, 0, 128, 0])  # Every pixel is index 1: green.
    params = {"transparency": 1} if transparent else {}
    return _save(image, "PNG", **params)


GOOD = {
    "jpeg": (_save(Image.new("RGB", (8, 6), (200, 30, 40)), "JPEG"), (200, 30, 40), 4),
    "png": (_save(Image.new("RGB", (8, 6), (1, 2, 3)), "PNG"), (1, 2, 3), 0),
    "webp": (
        _save(Image.new("RGB", (8, 6), (9, 8, 7)), "WEBP", lossless=True),
        (9, 8, 7),
        0,
    ),
    "bmp": (_save(Image.new("RGB", (8, 6), (5, 6, 7)), "BMP"), (5, 6, 7), 0),
    "gif_two_frames": (_two_frames("GIF"), (255, 0, 0), 0),
    "apng_two_frames": (_two_frames("PNG"), (255, 0, 0), 0),
    "webp_two_frames": (_two_frames("WEBP", lossless=True), (255, 0, 0), 0),
    "gray_L": (_save(Image.new("L", (8, 6), 128), "PNG"), (128, 128, 128), 0),
    "bilevel_1": (_save(Image.new("1", (8, 6), 1), "BMP"), (255, 255, 255), 0),
    "gray_16bit_max": (_save(Image.new("I;16", (8, 6), 65535), "PNG"), (255,) * 3, 0),
    "gray_16bit_mid": (_save(Image.new("I;16", (8, 6), 25700), "PNG"), (100,) * 3, 0),
    "rgb_16bit": (_sixteen_bit_rgb_png(), (255, 0, 100), 0),
    "gray_alpha_LA": (_save(Image.new("LA", (8, 6), (10, 0)), "PNG"), (255,) * 3, 0),
    "rgba_transparent": (
        _save(Image.new("RGBA", (8, 6), (0, 0, 0, 0)), "PNG"),
        (255,) * 3,
        0,
    ),
    "rgba_opaque": (
        _save(Image.new("RGBA", (8, 6), (7, 8, 9, 255)), "PNG"),
        (7, 8, 9),
        0,
    ),
    "rgba_half": (
        _save(Image.new("RGBA", (8, 6), (255, 0, 0, 128)), "PNG"),
        (255, 127, 127),
        1,
    ),
    "palette_P": (_palette(transparent=False), (0, 128, 0), 0),
    "palette_P_transparent": (_palette(transparent=True), (255, 255, 255), 0),
    "cmyk_jpeg": (
        _save(Image.new("CMYK", (8, 6), (0, 255, 255, 0)), "JPEG"),
        (255, 0, 0),
        12,
    ),
}


@pytest.mark.parametrize("key", sorted(GOOD))
def test_good_corpus_decodes_to_rgb_uint8(key):
    data, colour, atol = GOOD[key]
    array = decode_image(data)
    height = 8 if "frames" in key else 6
    width = 8
    _assert_rgb(array, (height, width, 3), colour, atol)


def test_exif_orientation_is_applied():
    array = decode_image(_orientation_jpeg())
    assert array.shape == (20, 10, 3)  # The 20x10 image is shown upright as 10x20.
    _assert_rgb(array[:8], (8, 10, 3), (255, 0, 0), atol=40)  # Left half is on top.
    _assert_rgb(array[12:], (8, 10, 3), (0, 0, 255), atol=40)


@pytest.mark.parametrize(
    "mode, value, expected",
    [("I", 40000, 156), ("I;16", 257, 1), ("F", 127.6, 128), ("F", -3.0, 0)],
)
def test_wide_gray_modes_are_scaled_not_clipped(mode, value, expected):
    array = images._to_rgb(Image.new(mode, (3, 2), value))
    _assert_rgb(array, (2, 3, 3), (expected,) * 3)


def test_extension_that_lies_is_decoded_by_content(tmp_path):
    path = tmp_path / "really_a_png.jpg"
    path.write_bytes(encode_png(np.full((4, 5, 3), 42, dtype=np.uint8)))
    _assert_rgb(decode_image(path), (4, 5, 3), (42, 42, 42))


def test_path_bytes_and_file_like_inputs(tmp_path):
    expected = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    data = encode_png(expected)
    path = tmp_path / "image.png"
    path.write_bytes(data)

    class UploadedFile(io.BytesIO):  # Like Streamlit's: a BytesIO with a name.
        name = "upload.png"

    upload = UploadedFile(data)
    upload.read()  # getvalue() must still return everything.
    sources = [data, bytearray(data), path, str(path), io.BytesIO(data), upload]
    with open(path, "rb") as file:
        for source in [*sources, file]:
            np.testing.assert_array_equal(decode_image(source), expected)


def test_error_message_names_the_input_and_the_accepted_formats(tmp_path):
    upload = io.BytesIO(b"")
    upload.name = "cat.jpg"
    with pytest.raises(ImageDecodeError) as info:
        decode_image(upload)
    assert str(info.value) == (
        "cat.jpg: the file is empty (0 bytes). Accepted image formats: JPEG, PNG, WebP, BMP, GIF."
    )
    with pytest.raises(ValueError, match=r"^dog\.png: .*text"):
        decode_image(b"hello", name="dog.png")


def _truncated(data):
    return data[: len(data) // 2]


def _write(tmp_path, filename, data):
    path = tmp_path / filename
    path.write_bytes(data)
    return path


PNG = encode_png(np.zeros((48, 64, 3), dtype=np.uint8) + 7)
BAD = {
    "zero_bytes": (lambda p: b"", {}, r"empty \(0 bytes\)"),
    "truncated_jpeg": (lambda p: _truncated(_save(_noise(), "JPEG")), {}, "truncated"),
    "truncated_png": (lambda p: _truncated(_save(_noise(), "PNG")), {}, "truncated"),
    "png_header_only": (lambda p: PNG[:20], {}, "PNG file.*truncated"),
    "random_bytes": (lambda p: bytes(range(7, 256)) * 4, {}, "not a recognised image"),
    "random_bytes_seeded": (
        lambda p: np.random.default_rng(0).bytes(2000),
        {},
        "not a recognised image",
    ),
    "plain_text": (lambda p: b"just some notes\n" * 20, {}, "text, not an image"),
    "text_named_jpg": (
        lambda p: _write(p, "cat.jpg", b"not a cat\n"),
        {},
        r"cat\.jpg: the content is text, not an image, despite the \.jpg name",
    ),
    "pdf_header": (lambda p: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", {}, "PDF"),
    "zip_header": (lambda p: b"PK\x03\x04" + bytes(40), {}, "ZIP"),
    "tiff_image": (
        lambda p: _save(Image.new("RGB", (4, 4)), "TIFF"),
        {},
        "in TIFF format",
    ),
    "ico_image": (
        lambda p: _save(Image.new("RGB", (16, 16)), "ICO"),
        {},
        "in ICO format",
    ),
    "real_pixel_bomb": (
        lambda p: encode_png(np.zeros((3000, 3000), dtype=np.uint8)),
        {"max_pixels": 1_000_000},
        r"too many pixels \(3000x3000",
    ),
    "header_pixel_bomb": (
        lambda p: _raw_png(100_000, 100_000, 8, 2, b"\x00" * 301),
        {},
        "too many pixels",
    ),
    "pillow_bomb_warning": (
        lambda p: _raw_png(10_000, 10_000, 8, 0, b"\x00" * 101),
        {"max_pixels": 10**9},
        "too many pixels",
    ),
    "over_max_bytes": (
        lambda p: PNG,
        {"max_bytes": 100},
        "larger than the limit of 100",
    ),
    "path_over_max_bytes": (
        lambda p: _write(p, "big.png", PNG),
        {"max_bytes": 100},
        "larger than the limit",
    ),
    "missing_path": (lambda p: p / "missing.png", {}, "does not exist"),
    "directory": (lambda p: p, {}, "directory"),
}


@pytest.mark.parametrize("key", sorted(BAD))
def test_bad_corpus_raises_value_error(key, tmp_path):
    make_source, kwargs, problem = BAD[key]
    max_pixels, load_truncated = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
    with pytest.raises(ValueError, match=problem) as info:
        decode_image(make_source(tmp_path), **kwargs)
    assert isinstance(info.value, ImageDecodeError)
    assert "Accepted image formats: JPEG, PNG, WebP, BMP, GIF." in str(info.value)
    assert (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES) == (
        max_pixels,
        load_truncated,
    )


def test_wrong_source_type_is_a_type_error():
    with pytest.raises(TypeError, match="received int"):
        decode_image(42)


def test_encode_png_rejects_wrong_arrays():
    with pytest.raises(ValueError, match="float64"):
        encode_png(np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 2, 2\)"):
        encode_png(np.zeros((2, 2, 2), dtype=np.uint8))


def _mutate(data, rng):
    """Truncate at a random offset, flip some random bytes, or both."""
    data = bytearray(data)
    kind = rng.choice(["truncate", "flip", "both"])
    if kind != "flip":
        del data[rng.randrange(len(data)) :]
    if kind != "truncate" and data:
        for _ in range(rng.randrange(1, 9)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


@pytest.mark.parametrize("format", ["JPEG", "PNG"])
def test_random_mutations_give_an_image_or_value_error(format):
    rng = random.Random(1234)
    original = _save(_noise((32, 24)), format)
    outcomes = {"decoded": 0, "rejected": 0}
    for _ in range(200):
        try:
            array = decode_image(_mutate(original, rng), max_pixels=1_000_000)
        except ValueError:
            outcomes["rejected"] += 1
            continue
        assert array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3
        outcomes["decoded"] += 1
    assert outcomes["rejected"] > 0  # The mutations really do break files.
