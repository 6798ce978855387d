"""Read Marian ``.bin`` model files (the Bergamot intgemm8 students) with numpy alone.

Layout (Marian's ``io_binary``): a uint64 format version and header count, then per item a
header of four uint64 (name length, type, shape length, data length), then all names
(NUL-terminated), all shapes (int32), a uint64 padding length and that many bytes, then the
data of every item in order. Type 0x404 is float32; 0x4101 is int8 quantised for intgemm,
its data the int8 matrix followed by the float32 ``quant_mult`` (value = int8 / quant_mult).
``Wemb`` is stored row-major and every other int8 matrix column-major. ``*_QuantMultA`` items
are activation scales for int8 inference and are not needed for float inference. The
``special:model.yml`` item holds the model's own configuration.
"""

import struct
from pathlib import Path

import numpy as np
import yaml

TYPE_FLOAT32 = 0x404
TYPE_INT8 = 0x4101
TYPE_TEXT = 0x101
HEADER = struct.Struct("<4Q")


class MarianFormatError(ValueError):
    """The file is not a Marian binary model this reader understands."""


def _take(buffer, offset, size, what):
    if offset + size > len(buffer):
        raise MarianFormatError(f"truncated Marian file while reading {what}")
    return buffer[offset : offset + size], offset + size


def _index(buffer):
    """Yield (name, type, shape, data bytes) for every item of the file."""
    head, offset = _take(buffer, 0, 16, "the file header")
    version, count = struct.unpack("<2Q", head)
    if version != 1 or not 0 < count < 100_000:
        raise MarianFormatError(f"not a Marian binary model (version {version}, {count} items)")
    raw, offset = _take(buffer, offset, HEADER.size * count, "item headers")
    headers = [HEADER.unpack_from(raw, HEADER.size * i) for i in range(count)]
    names = []
    for name_length, *_ in headers:
        name, offset = _take(buffer, offset, name_length, "names")
        names.append(name.rstrip(b"\0").decode("utf-8"))
    shapes = []
    for _, _, shape_length, _ in headers:
        shape, offset = _take(buffer, offset, 4 * shape_length, "shapes")
        shapes.append(struct.unpack(f"<{shape_length}i", shape))
    padding, offset = _take(buffer, offset, 8, "padding")
    offset += struct.unpack("<Q", padding)[0]
    for name, (_, kind, _, data_length), shape in zip(names, headers, shapes):
        data, offset = _take(buffer, offset, data_length, name)
        yield name, kind, shape, data


def _dequantise(name, shape, data):
    size = int(np.prod(shape))
    if len(data) < size + 4:
        raise MarianFormatError(f"{name}: int8 data shorter than its shape {shape}")
    values = np.frombuffer(data[:size], np.int8).astype(np.float32)
    quant_mult = np.frombuffer(data[size : size + 4], np.float32)[0]
    if not np.isfinite(quant_mult) or quant_mult == 0:
        raise MarianFormatError(f"{name}: bad quantisation multiplier {quant_mult}")
    values /= quant_mult
    if name == "Wemb":
        return values.reshape(shape)
    return values.reshape(shape[::-1]).T.copy()


def read_marian(path):
    """Read a Marian binary model.

    Args:
        path: the ``.bin`` file.

    Returns:
        (weights, config): ``{name: float32 array}`` without the activation scales, and the
        model's embedded YAML configuration as a dict.
    """
    buffer = Path(path).read_bytes()
    weights, config = {}, None
    for name, kind, shape, data in _index(buffer):
        if name.endswith("_QuantMultA"):
            continue
        if kind == TYPE_INT8:
            weights[name] = _dequantise(name, shape, data)
        elif kind == TYPE_FLOAT32:
            size = int(np.prod(shape))
            weights[name] = np.frombuffer(data, np.float32)[:size].reshape(shape).copy()
        elif kind == TYPE_TEXT and name == "special:model.yml":
            config = yaml.safe_load(data.rstrip(b"\0").decode("utf-8"))
        else:
            raise MarianFormatError(f"{name}: unsupported item type {kind:#x}")
    if config is None:
        raise MarianFormatError(f"{path}: no special:model.yml configuration")
    return weights, config
