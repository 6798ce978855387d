"""Read CTranslate2 ``model.bin`` files (named arrays after a small header) with numpy alone.

The layout follows CTranslate2's ``ModelSpec._serialize`` and ``models::Model::load``.
"""

import struct
from pathlib import Path

import numpy as np

# CTranslate2's DataType enum (include/ctranslate2/types.h); bfloat16 has no numpy dtype.
CT2_DTYPES = {0: "float32", 1: "int8", 2: "int16", 3: "int32", 4: "float16", 5: "bfloat16"}
# Before binary version 4 a variable stored its item width, not a type id.
CT2_LEGACY_WIDTHS = {4: "float32", 2: "int16", 1: "int8"}
CT2_BINARY_VERSIONS = range(2, 7)  # 2 added the spec name; 6 is CTranslate2 4.x's


class _Cursor:
    """Reads little-endian values from a byte buffer, with a clear error at the end."""

    def __init__(self, data, path):
        self.data, self.offset, self.path = data, 0, path

    def take(self, size):
        if self.offset + size > len(self.data):
            raise ValueError(f"{self.path} is truncated or not a CTranslate2 model.bin")
        start, self.offset = self.offset, self.offset + size
        return self.data[start : self.offset]

    def number(self, fmt):
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self):
        # The length counts a trailing NUL; a garbled name fails later checks anyway.
        return self.take(self.number("H")).rstrip(b"\0").decode("utf-8", "replace")


def _to_array(raw, dtype_name, shape):
    """Numpy array of one variable; float16 and bfloat16 come back as float32."""
    if dtype_name == "bfloat16":  # the top half of a float32
        values = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        values = np.frombuffer(raw, np.dtype(dtype_name).newbyteorder("<"))
    if dtype_name in ("float16", "float32"):
        values = values.astype(np.float32)
    return values.reshape(shape)


def _read_variable(cursor, binary_version):
    name = cursor.string()
    shape = tuple(cursor.number("I") for _ in range(cursor.number("B")))
    code = cursor.number("B")
    dtype_name = (CT2_DTYPES if binary_version >= 4 else CT2_LEGACY_WIDTHS).get(code)
    if dtype_name is None:
        raise ValueError(f"{cursor.path}: variable {name!r} has an unknown type ({code})")
    item_size = 2 if dtype_name == "bfloat16" else np.dtype(dtype_name).itemsize
    # Version 4 on stores a byte count, earlier ones an element count.
    num_bytes = cursor.number("I") * (1 if binary_version >= 4 else item_size)
    if num_bytes != int(np.prod(shape)) * item_size:
        raise ValueError(f"{cursor.path}: variable {name!r} has {num_bytes} bytes for {shape}")
    return name, _to_array(cursor.take(num_bytes), dtype_name, shape)


def read_ctranslate2(path):
    """Read a CTranslate2 ``model.bin`` (layout of ``ModelSpec._serialize``).

    Args:
        path: the ``model.bin`` file.

    Returns:
        ``(spec_info, variables)``: ``spec_info`` has ``binary_version``, ``spec_name``,
        ``spec_revision`` and ``aliases`` (alias -> variable name); ``variables`` maps
        every name, aliases included, to a numpy array (floats as float32; aliases share
        their target's array).

    Raises:
        ValueError: the file is not a CTranslate2 model of a known binary version.
    """
    cursor = _Cursor(Path(path).read_bytes(), path)
    binary_version = cursor.number("I")
    if binary_version not in CT2_BINARY_VERSIONS:
        raise ValueError(
            f"{path} is not a CTranslate2 model.bin of a known version "
            f"(binary version {binary_version}; known: 2 to {CT2_BINARY_VERSIONS[-1]})"
        )
    spec_name, spec_revision = cursor.string(), cursor.number("I")
    variables = dict(_read_variable(cursor, binary_version) for _ in range(cursor.number("I")))
    aliases = {}
    for _ in range(cursor.number("I") if binary_version >= 3 else 0):
        alias, target = cursor.string(), cursor.string()
        if target not in variables:
            raise ValueError(f"{path}: alias {alias!r} names no variable ({target!r})")
        aliases[alias] = target
        variables[alias] = variables[target]
    if cursor.offset != len(cursor.data):
        raise ValueError(f"{path} has {len(cursor.data) - cursor.offset} unexpected bytes")
    info = dict(binary_version=binary_version, spec_name=spec_name, aliases=aliases)
    return info | {"spec_revision": spec_revision}, variables
