"""Read PyTorch checkpoints without torch and without arbitrary pickle: legacy (pre-1.6) files
and the zip format of ``torch.save`` since 1.6.

A legacy ``.pth`` file is a sequence of pickles: a magic number, a protocol version, system
info, the state dict (whose tensors reference storages through ``persistent_load``), the list
of storage keys, then each storage's raw bytes. A zip-format file is an archive with one
folder holding ``data.pkl`` (the pickled object), ``byteorder`` and one ``data/<key>`` entry of
raw bytes per storage. The unpickler below resolves only the handful of globals a state dict
needs, so a malicious file cannot run code.
"""

import collections
import io
import math
import os
import pickle
import re
import struct
import zipfile

import numpy as np

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
# What unpickling a damaged or crafted file raises (besides ValueError, passed on as is).
_UNREADABLE = (
    pickle.UnpicklingError,
    EOFError,
    struct.error,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    OverflowError,
    UnicodeError,
)
_STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    """Stands in for ``torch.FloatStorage`` and friends: only its dtype matters."""

    def __init__(self, name):
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _LazyTensor:
    """A tensor whose storage bytes are read after the state-dict pickle."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def to_numpy(self, storages):
        """A copy of this tensor's elements, each read through a bounds-checked index.

        Sizes, strides and offsets come from the file, so they are checked against the
        storage's length first, and the elements are gathered by fancy indexing (never
        ``as_strided``), which cannot read outside the storage even if a check were wrong.
        """
        flat = _storage_array(storages, self.storage)
        size, stride = _checked_layout(self.offset, self.size, self.stride, flat.size)
        index = np.asarray(self.offset, dtype=np.int64)
        for count, step in zip(size, stride):
            index = index[..., None] + np.arange(count, dtype=np.int64) * step
        return flat[index]  # fancy indexing copies: detached from the shared buffer


def _is_count(value):
    return type(value) is int and value >= 0


def _storage_array(storages, storage):
    """The elements a tensor's storage reference points to (a whole storage or a view)."""
    if not (isinstance(storage, dict) and set(storage) == {"key", "view"}):
        raise ValueError(f"{storage!r} is not a storage")
    key, view = storage["key"], storage["view"]
    if key not in storages:
        raise ValueError(f"storage {key} is referenced but not stored")
    flat = storages[key]
    if view is None:
        return flat
    if not (isinstance(view, tuple) and len(view) == 3 and all(map(_is_count, view[1:]))):
        raise ValueError(f"storage {key}: malformed view {view!r}")
    _, view_offset, view_size = view
    if view_offset + view_size > flat.size:
        raise ValueError(
            f"storage {key}: view of {view_size} elements at {view_offset} is outside "
            f"its {flat.size} elements"
        )
    return flat[view_offset : view_offset + view_size]


def _checked_layout(offset, size, stride, length):
    """(size, stride) as tuples once they are known to stay inside ``length`` elements.

    Raises:
        ValueError: for anything but non-negative integers, or a view that reaches past its
            storage or holds more elements than it (a broadcast view).
    """
    if not (isinstance(size, (tuple, list)) and isinstance(stride, (tuple, list))):
        raise ValueError(f"size {size!r} and strides {stride!r} are not lists")
    size, stride = tuple(size), tuple(stride)
    if not (_is_count(offset) and all(map(_is_count, size + stride))):
        raise ValueError(
            f"offset {offset!r}, size {size!r} and strides {stride!r} must be non-negative integers"
        )
    if len(size) != len(stride):
        raise ValueError(f"{len(size)} sizes {size} but strides {stride}")
    if math.prod(size) == 0:
        if offset > length:
            raise ValueError(f"offset {offset} past its storage of {length}")
        return size, stride
    last = offset + sum((count - 1) * step for count, step in zip(size, stride))
    if last >= length or math.prod(size) > length:
        raise ValueError(
            f"size {size} with strides {stride} at offset {offset} does not "
            f"fit its storage of {length} elements"
        )
    return size, stride


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, *_):
    return _LazyTensor(storage, offset, size, stride)


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that allows only what a plain tensor state dict needs."""

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name} from a checkpoint")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel, view = pid
        return self._declare(storage_type, key, numel, view)

    def _declare(self, storage_type, key, numel, view):
        """Record a storage's dtype and element count; its bytes are read afterwards."""
        if not (isinstance(storage_type, _StorageType) and isinstance(key, str)):
            raise pickle.UnpicklingError(f"unexpected storage {storage_type!r} {key!r}")
        if not _is_count(numel):
            raise pickle.UnpicklingError(f"storage {key}: bad element count {numel!r}")
        declared = self.storages.setdefault(key, (storage_type.dtype, numel))
        if declared != (storage_type.dtype, numel):
            raise pickle.UnpicklingError(f"storage {key} declared twice, differently")
        return {"key": key, "view": view}


def load_legacy_state_dict(path):
    """Load a legacy PyTorch state dict as numpy arrays.

    Args:
        path: path of a ``.pth`` written by ``torch.save`` before PyTorch 1.6.

    Returns:
        An ordered ``dict`` of parameter name to ``numpy.ndarray``.

    Raises:
        ValueError: if the file is not a legacy torch checkpoint or holds anything but tensors.
    """
    with open(path, "rb") as file:
        try:
            state, storages = _read_legacy(file, path)
        except _UNREADABLE as error:
            raise ValueError(
                f"{path}: cannot read as a legacy PyTorch checkpoint: {error}"
            ) from error
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict, found {type(state).__name__}")
    arrays = collections.OrderedDict()
    for name, tensor in state.items():
        if not isinstance(tensor, _LazyTensor):
            raise ValueError(f"{path}: {name!r} is a {type(tensor).__name__}, not a tensor")
        try:
            arrays[name] = tensor.to_numpy(storages)
        except ValueError as error:
            raise ValueError(f"{path}: tensor {name!r}: {error}") from error
    return arrays


def _read_legacy(file, path):
    """(state dict of ``_LazyTensor``, ``{storage key: flat array}``) read from ``file``."""
    magic = _RestrictedUnpickler(file).load()
    if magic != LEGACY_MAGIC_NUMBER:
        raise ValueError(f"{path}: not a legacy PyTorch checkpoint (magic {magic!r})")
    _RestrictedUnpickler(file).load()  # protocol version
    _RestrictedUnpickler(file).load()  # system info
    unpickler = _RestrictedUnpickler(file)
    unpickler.storages = {}
    state = unpickler.load()
    keys = _RestrictedUnpickler(file).load()
    file_size = os.fstat(file.fileno()).st_size
    storages = {}
    for key in keys:
        dtype, numel = unpickler.storages[key]
        (count,) = struct.unpack("<q", file.read(8))
        # Checked before reading, so a crafted count cannot ask for more than the file holds.
        if count != numel or count * dtype.itemsize > file_size - file.tell():
            raise ValueError(f"{path}: storage {key} is truncated")
        storages[key] = np.frombuffer(file.read(count * dtype.itemsize), dtype=dtype)
    return state, storages


class _ZipUnpickler(_RestrictedUnpickler):
    """The restricted unpickler for a zip-format ``data.pkl``: storages have no views."""

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid
        return self._declare(storage_type, key, numel, None)


_STORAGE_KEY = re.compile(r"[0-9A-Za-z_]{1,64}")
MAX_NESTING = 1  # a checkpoint dict of state dicts (``{"netG_state_dict": {...}}``)


def load_checkpoint(path):
    """Load a zip-format PyTorch checkpoint (``torch.save`` since PyTorch 1.6) as numpy arrays.

    Args:
        path: the file; its name does not matter (``.pt``, ``.pth``, even ``.tar``).

    Returns:
        A ``dict`` of name to ``numpy.ndarray``, or to a ``dict`` of them (one level, as in
        ``{"netG_state_dict": {...}}``).

    Raises:
        ValueError: if the file is not a zip-format checkpoint, is big-endian, damaged or
            truncated, or holds anything but (dicts of) tensors.
    """
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a zip-format PyTorch checkpoint")
    try:
        with zipfile.ZipFile(path) as archive:
            state, storages = _read_zip(archive, path, os.path.getsize(path))
    except (*_UNREADABLE, zipfile.BadZipFile, RuntimeError, NotImplementedError) as error:
        raise ValueError(f"{path}: cannot read as a PyTorch checkpoint: {error}") from error
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict, found {type(state).__name__}")
    return _to_arrays(state, storages, path, depth=0)


def _stored_bytes(archive, name, path, archive_size, expected=None):
    """The bytes of one uncompressed entry, its declared size checked before reading."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ValueError(f"{path}: {name} is missing") from None
    # Stored entries cannot expand: reading one never takes more memory than the file's size.
    if info.compress_type != zipfile.ZIP_STORED or info.file_size > archive_size:
        raise ValueError(f"{path}: {name} is compressed or larger than the file")
    if expected is not None and info.file_size != expected:
        raise ValueError(f"{path}: {name} holds {info.file_size} bytes, expected {expected}")
    return archive.read(info)


def _read_zip(archive, path, archive_size):
    """(the unpickled object with ``_LazyTensor`` leaves, ``{storage key: flat array}``)."""
    pickles = [name for name in archive.namelist() if re.fullmatch(r"[^/]+/data\.pkl", name)]
    if len(pickles) != 1:
        raise ValueError(f"{path}: expected one <folder>/data.pkl, found {len(pickles)}")
    folder = pickles[0].rpartition("/")[0]
    if f"{folder}/byteorder" in archive.namelist():
        order = _stored_bytes(archive, f"{folder}/byteorder", path, archive_size)
        if order != b"little":
            raise ValueError(f"{path}: byte order {order[:16]!r} is not supported")
    data = _stored_bytes(archive, pickles[0], path, archive_size)
    unpickler = _ZipUnpickler(io.BytesIO(data))
    unpickler.storages = {}
    state = unpickler.load()
    storages = {}
    for key, (dtype, numel) in unpickler.storages.items():
        if not _STORAGE_KEY.fullmatch(key):
            raise ValueError(f"{path}: bad storage key {key!r}")
        if numel * dtype.itemsize > archive_size:
            raise ValueError(f"{path}: storage {key} is larger than the file")
        raw = _stored_bytes(
            archive, f"{folder}/data/{key}", path, archive_size, numel * dtype.itemsize
        )
        storages[key] = np.frombuffer(raw, dtype=dtype.newbyteorder("<"))
    return state, storages


def _to_arrays(state, storages, path, depth, prefix=""):
    """Each ``_LazyTensor`` of ``state`` as an array; nested dicts up to ``MAX_NESTING``."""
    arrays = collections.OrderedDict()
    for name, value in state.items():
        if isinstance(value, dict) and depth < MAX_NESTING:
            arrays[name] = _to_arrays(value, storages, path, depth + 1, f"{prefix}{name}.")
            continue
        if not isinstance(value, _LazyTensor):
            raise ValueError(f"{path}: {prefix}{name!s} is a {type(value).__name__}, not a tensor")
        try:
            arrays[name] = value.to_numpy(storages)
        except ValueError as error:
            raise ValueError(f"{path}: tensor {prefix}{name!s}: {error}") from error
    return arrays
