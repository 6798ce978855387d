"""Read legacy (pre-1.6, non-zip) PyTorch checkpoints without torch and without arbitrary pickle.

A legacy ``.pth`` file is a sequence of pickles: a magic number, a protocol version, system
info, the state dict (whose tensors reference storages through ``persistent_load``), the list
of storage keys, then each storage's raw bytes. The unpickler below resolves only the handful
of globals such a state dict needs, so a malicious file cannot run code.
"""

import collections
import math
import os
import pickle
import struct

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
