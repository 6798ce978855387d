"""Read the MTCNN weights bundled in the ``mtcnn`` wheel safely and save them as Keras files.

The wheel ships ``mtcnn/assets/weights/{pnet,rnet,onet}.lz4``: joblib pickles of a list of
numpy arrays (Keras ``get_weights()`` order), compressed as one LZ4 frame. joblib's own
loader would unpickle any object the file names, so we decompress with ``lz4.frame`` and
read the pickle with an unpickler that only knows numpy arrays. joblib's format does not
pickle array data: each array is a ``NumpyArrayWrapper`` header (subclass, shape, order,
dtype, alignment) and, right after the pickle ``BUILD`` that fills it in, the raw bytes (one
padding-length byte, that many padding bytes, then the data) sit in the stream.
"""

import importlib.metadata
import importlib.util
import io
import json
import math
import pickle
import struct
from pathlib import Path

import numpy as np

from apps.detection import mtcnn

NET_NAMES = ("pnet", "rnet", "onet")
# Each net's weights in Keras ``get_weights()`` order (conv kernel, bias, PReLU alpha...): a
# file holding anything else is refused before Keras sees it.
NET_WEIGHT_SHAPES = {
    "pnet": (
        *((3, 3, 3, 10), (10,), (1, 1, 10), (3, 3, 10, 16), (16,), (1, 1, 16)),
        *((3, 3, 16, 32), (32,), (1, 1, 32), (1, 1, 32, 4), (4,), (1, 1, 32, 2), (2,)),
    ),
    "rnet": (
        *((3, 3, 3, 28), (28,), (1, 1, 28), (3, 3, 28, 48), (48,), (1, 1, 48)),
        *((2, 2, 48, 64), (64,), (1, 1, 64), (576, 128), (128,), (128,)),
        *((128, 4), (4,), (128, 2), (2,)),
    ),
    "onet": (
        *((3, 3, 3, 32), (32,), (1, 1, 32), (3, 3, 32, 64), (64,), (1, 1, 64)),
        *((3, 3, 64, 64), (64,), (1, 1, 64), (2, 2, 64, 128), (128,), (1, 1, 128)),
        *((1152, 256), (256,), (256,), (256, 4), (4,), (256, 10), (10,), (256, 2), (2,)),
    ),
}
MAX_DECOMPRESSED_BYTES = 64 * 1024**2  # the bundled nets hold 2 MB; a bigger stream is not one
# What a damaged or crafted stream makes lz4 (RuntimeError) or the unpickler raise.
_UNREADABLE = (
    ValueError,
    RuntimeError,
    pickle.UnpicklingError,
    EOFError,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    struct.error,
    UnicodeError,
)
FORMAT_NAME = "transferzoo-mtcnn"
FORMAT_VERSION = 1


class _ArrayHeader:
    """Stands in for joblib's ``NumpyArrayWrapper``: the header of one array in the stream."""

    _FIELDS = {
        "subclass",
        "shape",
        "order",
        "dtype",
        "allow_mmap",
        "numpy_array_alignment_bytes",
    }

    def __setstate__(self, state):
        if not isinstance(state, dict) or not set(state) <= self._FIELDS:
            raise ValueError(f"unexpected array header fields: {state!r}")
        self.__dict__.update(state)

    def read_array(self, file):
        """Read this header's array from the raw bytes that follow it in ``file``."""
        shape, dtype = getattr(self, "shape", None), getattr(self, "dtype", None)
        if getattr(self, "subclass", np.ndarray) is not np.ndarray:
            raise ValueError(f"array subclass {self.subclass!r} is not allowed")
        if not isinstance(dtype, np.dtype) or dtype.hasobject:
            raise ValueError(f"array dtype {dtype!r} is not allowed (plain numeric dtypes only)")
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ValueError(f"bad array shape {shape!r}")
        if getattr(self, "numpy_array_alignment_bytes", None) is not None:
            padding = file.read(1)  # joblib >= 1.2 aligns the data: skip the padding
            if len(padding) != 1 or len(file.read(padding[0])) != padding[0]:
                raise ValueError("array data truncated in its padding")
        count = math.prod(shape)  # Python ints: a crafted shape cannot overflow to a small count
        data = file.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise ValueError(f"array data truncated: {len(data)} of {count * dtype.itemsize} bytes")
        flat = np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("="))
        if getattr(self, "order", "C") == "F":
            return flat.reshape(shape[::-1]).transpose()
        return flat.reshape(shape)


def _numpy_reconstruct():
    core = getattr(np, "_core", None) or np.core
    return core.multiarray._reconstruct


# (module, name) -> object. Everything else is refused: no callable with side effects.
_ALLOWED_GLOBALS = {
    ("joblib.numpy_pickle", "NumpyArrayWrapper"): _ArrayHeader,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct(),
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct(),
}


class _ArrayUnpickler(pickle._Unpickler):
    """An unpickler that rebuilds numpy arrays (plain or joblib-wrapped) and nothing else.

    The pure-Python unpickler is used, as joblib does, because joblib's array data sits
    between pickle opcodes and has to be read at the moment the header is built.
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file):
        super().__init__(file)
        self._raw_file = file

    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise ValueError(
                f"refusing to unpickle {module}.{name}: only numpy arrays are allowed"
            ) from None

    def persistent_load(self, pid):
        raise ValueError(f"refusing persistent id {pid!r} in a weights file")

    def load_build(self):
        super().load_build()
        if isinstance(self.stack[-1], _ArrayHeader):
            # joblib ends the pickle frame before writing array bytes; anything left in the
            # current frame means the stream is not in that format.
            frame = self._unframer.current_frame
            if frame is not None and frame.read(1):
                raise ValueError("array data found inside a pickle frame")
            self.stack[-1] = self.stack[-1].read_array(self._raw_file)

    dispatch[pickle.BUILD[0]] = load_build


def read_array_pickle(data):
    """Unpickle ``data`` (bytes) allowing numpy arrays only.

    Raises:
        ValueError: the pickle references anything else (a function, a class, ...).
    """
    return _ArrayUnpickler(io.BytesIO(data)).load()


def _decompress(data):
    """The LZ4 frame ``data`` decompressed, refusing more than ``MAX_DECOMPRESSED_BYTES``."""
    import lz4.frame

    decompressor = lz4.frame.LZ4FrameDecompressor()
    output = decompressor.decompress(data, max_length=MAX_DECOMPRESSED_BYTES)
    if not decompressor.eof or decompressor.unused_data:
        raise ValueError(f"not one LZ4 frame of at most {MAX_DECOMPRESSED_BYTES} bytes")
    return output


def _check_arrays(arrays, expected_shapes):
    if len(arrays) != len(expected_shapes):
        raise ValueError(f"{len(arrays)} arrays, expected {len(expected_shapes)}")
    for index, (array, shape) in enumerate(zip(arrays, expected_shapes)):
        if array.shape != tuple(shape) or array.dtype != np.float32:
            raise ValueError(
                f"array {index} is {array.dtype} {array.shape}, expected float32 {tuple(shape)}"
            )


def load_weights_file(path, expected_shapes=None):
    """Return the list of arrays stored in a joblib+lz4 weights file, read safely.

    Args:
        path: the ``.lz4`` file.
        expected_shapes: when given, the arrays must be float32 of exactly these shapes.

    Raises:
        ValueError: naming the file, for anything but such a list of arrays.
    """
    try:
        arrays = read_array_pickle(_decompress(Path(path).read_bytes()))
        if not isinstance(arrays, list) or not all(isinstance(a, np.ndarray) for a in arrays):
            raise ValueError(f"expected a list of numpy arrays, got {type(arrays).__name__}")
        if expected_shapes is not None:
            _check_arrays(arrays, expected_shapes)
    except _UNREADABLE as error:
        raise ValueError(f"{path}: not a weights file this reader accepts: {error}") from error
    return arrays


def weights_dir():
    """The ``assets/weights`` folder of the installed ``mtcnn`` package (not imported)."""
    spec = importlib.util.find_spec("mtcnn")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("bundled:mtcnn needs the package mtcnn: pip install mtcnn")
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / "weights"


def load_mtcnn_arrays(name):
    """The weights list of one MTCNN net, ``"pnet"``, ``"rnet"`` or ``"onet"``."""
    if name not in NET_NAMES:
        raise ValueError(f"Unknown MTCNN net {name!r}; expected one of {NET_NAMES}")
    return load_weights_file(weights_dir() / f"{name}.lz4", NET_WEIGHT_SHAPES[name])


def _package_version():
    try:
        return importlib.metadata.version("mtcnn")
    except importlib.metadata.PackageNotFoundError:
        return None


def convert_mtcnn(target_dir):
    """Write the bundled MTCNN nets as a preset directory of native Keras files.

    Args:
        target_dir: empty directory; receives ``pnet.keras``, ``rnet.keras``, ``onet.keras``
            and ``config.json`` (input scaling, default detection settings, provenance).
    """
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    for name, build in zip(NET_NAMES, mtcnn.NET_BUILDERS):
        model = build()
        model.set_weights(load_mtcnn_arrays(name))
        model.save(target_dir / f"{name}.keras")
    config = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "nets": {name: f"{name}.keras" for name in NET_NAMES},
        "input_offset": mtcnn.INPUT_OFFSET,
        "input_scale": mtcnn.INPUT_SCALE,
        "defaults": mtcnn.DEFAULT_SETTINGS,
        "labels": ["face"],
        "source": {"package": "mtcnn", "version": _package_version(), "license": "MIT"},
    }
    (target_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
