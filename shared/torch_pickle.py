"""Read legacy (pre-1.6, non-zip) PyTorch checkpoints without torch and without arbitrary pickle.

A legacy ``.pth`` file is a sequence of pickles: a magic number, a protocol version, system
info, the state dict (whose tensors reference storages through ``persistent_load``), the list
of storage keys, then each storage's raw bytes. The unpickler below resolves only the handful
of globals such a state dict needs, so a malicious file cannot run code.
"""

import collections
import pickle
import struct

import numpy as np

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
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
        self.storage, self.offset, self.size, self.stride = (
            storage,
            offset,
            size,
            stride,
        )

    def to_numpy(self, storages):
        flat = storages[self.storage["key"]]
        if self.storage["view"] is not None:
            _, view_offset, view_size = self.storage["view"]
            flat = flat[view_offset : view_offset + view_size]
        itemsize = flat.dtype.itemsize
        strides = tuple(s * itemsize for s in self.stride)
        view = np.lib.stride_tricks.as_strided(flat[self.offset :], self.size, strides)
        return np.array(view)  # copy: detach from the shared storage buffer


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, *_):
    return _LazyTensor(storage, offset, tuple(size), tuple(stride))


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
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel, view = pid
        self.storages.setdefault(key, (storage_type.dtype, numel))
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
            magic = _RestrictedUnpickler(file).load()
            if magic != LEGACY_MAGIC_NUMBER:
                raise ValueError(f"{path}: not a legacy PyTorch checkpoint (magic {magic!r})")
            _RestrictedUnpickler(file).load()  # protocol version
            _RestrictedUnpickler(file).load()  # system info
            unpickler = _RestrictedUnpickler(file)
            unpickler.storages = {}
            state = unpickler.load()
            keys = _RestrictedUnpickler(file).load()
            storages = {}
            for key in keys:
                dtype, numel = unpickler.storages[key]
                (count,) = struct.unpack("<q", file.read(8))
                data = file.read(count * dtype.itemsize)
                if count != numel or len(data) != count * dtype.itemsize:
                    raise ValueError(f"{path}: storage {key} is truncated")
                storages[key] = np.frombuffer(data, dtype=dtype)
        except (pickle.UnpicklingError, EOFError, struct.error, KeyError) as error:
            raise ValueError(
                f"{path}: cannot read as a legacy PyTorch checkpoint: {error}"
            ) from error
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict, found {type(state).__name__}")
    return collections.OrderedDict(
        (name, tensor.to_numpy(storages)) for name, tensor in state.items()
    )
