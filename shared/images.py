"""Safe image decoding and the models' resizing, shared by the apps, the CLI and the UI."""

import contextlib
import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps

from shared.sources import looks_like_text, read_source_bytes, source_name

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF")
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# Dataset loaders skip unreadable files with a warning up to this share, then refuse.
MAX_UNREADABLE_FRACTION = 0.1

_ACCEPTED_TEXT = "Accepted image formats: JPEG, PNG, WebP, BMP, GIF."
_ACCEPTED_MAGIC = {b"\xff\xd8": "JPEG", b"\x89PNG": "PNG", b"GIF8": "GIF", b"BM": "BMP"}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")
_OTHER_MAGIC = {b"%PDF": "a PDF document", b"PK\x03\x04": "a ZIP archive"}
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


class ImageDecodeError(ValueError):
    """The input is not a decodable image in one of the accepted formats."""


def _error(name, problem):
    return ImageDecodeError(f"{name}: {problem}. {_ACCEPTED_TEXT}")


def _too_many_bytes(name, max_bytes):
    return _error(name, f"the file is larger than the limit of {max_bytes:,} bytes")


def _too_many_pixels(name, detail):
    return _error(name, f"the image has too many pixels ({str(detail).rstrip('.')})")


def _describe_unidentified(data, name):
    """Say, as precisely as we can, what `data` is when no accepted decoder took it."""
    labels = [label for magic, label in _ACCEPTED_MAGIC.items() if data.startswith(magic)]
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        labels = ["WebP"]
    if labels:
        return f"this looks like a {labels[0]} file, but its header is damaged or truncated"
    for magic, label in _OTHER_MAGIC.items():
        if data.startswith(magic):
            return f"this is {label}, not an image"
    # Only the header is parsed (`Image.open` is lazy); a failure means "unknown".
    with contextlib.suppress(Exception), Image.open(io.BytesIO(data)) as other:
        return f"this image is in {other.format} format, which is not accepted"
    if looks_like_text(data):
        extension = os.path.splitext(name)[1]
        if extension.lower() in IMAGE_EXTENSIONS:
            return f"the content is text, not an image, despite the {extension} name"
        return "the content is text, not an image"
    return f"the content is not a recognised image (it starts with {data[:8]!r})"


def _to_rgb(image):
    """Convert a loaded PIL image of any mode to an (H, W, 3) uint8 RGB array."""
    if image.mode.startswith("I") or image.mode == "F":
        values = np.asarray(image).astype(np.float64)
        if image.mode == "F":
            # Same convention as Pillow's own F -> L conversion (0..255 scale).
            gray = np.clip(np.rint(values), 0, 255)
        else:
            # In the accepted formats "I"/"I;16" only come from 16-bit PNGs: scale
            # 0..65535 to 0..255 (rounding) instead of letting Pillow clip at 255.
            gray = np.rint(np.clip(values, 0, 65535) * (255 / 65535))
        return np.repeat(gray.astype(np.uint8)[..., None], 3, axis=2)
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        # Transparent pixels carry arbitrary (often black) RGB values; the models
        # were trained on opaque photos, so show them as a viewer would: on white.
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return np.array(image.convert("RGB"), dtype=np.uint8)


def _open_checked(data, name, max_pixels):
    """Open `data` lazily with the accepted decoders and check its header size."""
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except _BOMB as exc:
        raise _too_many_pixels(name, exc) from exc
    except Exception as exc:  # Pillow's plugins raise many types on bad headers.
        raise _error(name, _describe_unidentified(data, name)) from exc
    width, height = image.size
    if width * height > max_pixels:
        detail = f"{width}x{height} = {width * height:,}; the limit is {max_pixels:,}"
        raise _too_many_pixels(name, detail)
    return image


def decode_image(source, *, max_pixels=DEFAULT_MAX_PIXELS, max_bytes=DEFAULT_MAX_BYTES, name=None):
    """Decode an untrusted image into an RGB array, refusing anything unsafe.

    Only the first frame of animated images is used; EXIF orientation is applied;
    transparency is composited onto white; 16-bit images are scaled to 8 bits.

    Args:
        source: `bytes`/`bytearray`, a `str`/`os.PathLike` path, or a binary
            file-like object (e.g. Streamlit's `UploadedFile`).
        max_pixels: largest accepted `width * height`, checked before decoding.
        max_bytes: largest accepted encoded size in bytes.
        name: name used in error messages; defaults to the path or `.name`.

    Returns:
        A `numpy.ndarray` of shape (H, W, 3) and dtype uint8.

    Raises:
        ImageDecodeError: (a `ValueError`) for any input that is not a safe,
            decodable image in one of `ACCEPTED_FORMATS`.
    """
    name = name or source_name(source, "image")
    data = read_source_bytes(source, name, max_bytes, _error, "image")
    if not data:
        raise _error(name, "the file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise _too_many_bytes(name, max_bytes)
    with warnings.catch_warnings():
        # Pillow's bomb warning becomes an exception so it is never just logged.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open_checked(data, name, max_pixels)
        try:
            # A full load() so truncated data is detected (LOAD_TRUNCATED_IMAGES
            # stays False); decoders raise many exception types on bad data.
            image.load()
            return _to_rgb(ImageOps.exif_transpose(image))
        except _BOMB as exc:
            raise _too_many_pixels(name, exc) from exc
        except Exception as exc:
            problem = f"the {image.format} data is damaged or truncated ({exc})"
            raise _error(name, problem) from exc


def resize_image(image, size):
    """Resize an RGB uint8 image to ``size`` (h, w) exactly as the models' image converters
    do (bilinear, no antialiasing), so training, evaluation and prediction see the same
    pixels. Returns uint8."""
    import keras

    if tuple(image.shape[:2]) == tuple(size):
        return image
    resized = keras.ops.image.resize(image.astype("float32"), tuple(size), antialias=False)
    return np.clip(np.round(keras.ops.convert_to_numpy(resized)), 0, 255).astype("uint8")


def encode_png(array):
    """Encode a uint8 array as PNG bytes.

    Args:
        array: an (H, W), (H, W, 3) or (H, W, 4) uint8 array.

    Returns:
        The PNG file as `bytes`.
    """
    array = np.asarray(array)
    channels_ok = array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))
    if array.dtype != np.uint8 or not channels_ok:
        raise ValueError(
            "encode_png expects an (H, W), (H, W, 3) or (H, W, 4) uint8 array, "
            f"received shape {array.shape} and dtype {array.dtype}."
        )
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()
