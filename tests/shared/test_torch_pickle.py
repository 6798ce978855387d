"""Tests for shared.torch_pickle on legacy and zip-format torch checkpoints crafted by hand,
without torch."""

import collections
import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

from shared.efficientnet_lite import checkpoint_path
from shared.torch_pickle import LEGACY_MAGIC_NUMBER, load_checkpoint, load_legacy_state_dict

LEGACY_PROTOCOL_VERSION = 1001
SYS_INFO = {
    "protocol_version": LEGACY_PROTOCOL_VERSION,
    "little_endian": True,
    "type_sizes": {"short": 2, "int": 4, "long": 4},
}


def _torch_global(module, name):
    """A stand-in class that the pickler below writes as the global ``module.name``."""
    return type(name, (), {"__module__": module, "__qualname__": name})


_STORAGE_CLASSES = {
    np.dtype("float32"): _torch_global("torch", "FloatStorage"),
    np.dtype("float16"): _torch_global("torch", "HalfStorage"),
    np.dtype("int64"): _torch_global("torch", "LongStorage"),
}
_REBUILD_TENSOR_V2 = _torch_global("torch._utils", "_rebuild_tensor_v2")


class Storage:
    """A torch storage: a flat typed buffer, written after the state-dict pickle."""

    def __init__(self, key, values, view=None):
        self.key = key
        self.values = np.ascontiguousarray(values).ravel()
        self.view = view  # (view key, offset, size): a slice of the storage, as torch wrote


class Tensor:
    """A view on a storage; pickles as ``torch._utils._rebuild_tensor_v2(...)``."""

    def __init__(self, storage, offset, size, stride):
        size, stride = (tuple(v) if isinstance(v, (list, tuple)) else v for v in (size, stride))
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return _REBUILD_TENSOR_V2, self.args


class RunsCode:
    """A payload that would run ``os.system`` when unpickled by a plain ``pickle.load``."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class _LegacyPickler(pickle._Pickler):
    """The pure-Python pickler, so torch's globals can be written without importing torch."""

    def __init__(self, file):
        super().__init__(file, protocol=2)
        self.storages = {}

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        self.storages.setdefault(obj.key, obj)
        storage_class = _STORAGE_CLASSES[obj.values.dtype]
        return ("storage", storage_class, obj.key, "cpu", obj.values.size, obj.view)

    def save_global(self, obj, name=None):
        if getattr(obj, "__module__", "").startswith("torch"):
            self.write(pickle.GLOBAL + f"{obj.__module__}\n{obj.__qualname__}\n".encode())
            self.memoize(obj)
            return
        super().save_global(obj, name)


def write_legacy_checkpoint(path, state, *, magic=LEGACY_MAGIC_NUMBER, sys_info=SYS_INFO):
    """Write ``state`` the way ``torch.save(..., _use_new_zipfile_serialization=False)`` does."""
    with open(path, "wb") as file:
        for header in (magic, LEGACY_PROTOCOL_VERSION, sys_info):
            pickle.dump(header, file, protocol=2)
        pickler = _LegacyPickler(file)
        pickler.dump(state)
        keys = sorted(pickler.storages)
        pickle.dump(keys, file, protocol=2)
        for key in keys:
            values = pickler.storages[key].values
            file.write(struct.pack("<q", values.size))
            file.write(values.astype(values.dtype.newbyteorder("<")).tobytes())
    return path


def contiguous(key, array):
    """A tensor with its own storage holding ``array``."""
    array = np.asarray(array)
    strides = tuple(s // array.itemsize for s in np.ascontiguousarray(array).strides)
    return Tensor(Storage(key, array), 0, array.shape, strides)


@pytest.fixture
def shared_storage_state():
    weights = Storage("0", np.arange(12, dtype=np.float32))
    return collections.OrderedDict(
        [
            ("conv.weight", Tensor(weights, 0, (3, 4), (4, 1))),
            ("conv.weight_t", Tensor(weights, 0, (4, 3), (1, 4))),  # non-contiguous
            ("conv.bias", Tensor(weights, 4, (4,), (1,))),  # storage offset
            ("bn.num_batches_tracked", Tensor(Storage("1", np.array([7])), 0, (), ())),
            ("half", contiguous("2", np.array([[0.5, -2.0]], dtype=np.float16))),
        ]
    )


def test_round_trip_of_dtypes_strides_and_offsets(tmp_path, shared_storage_state):
    path = write_legacy_checkpoint(tmp_path / "model.pth", shared_storage_state)
    state = load_legacy_state_dict(path)
    assert list(state) == list(shared_storage_state)
    expected = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(state["conv.weight"], expected)
    np.testing.assert_array_equal(state["conv.weight_t"], expected.T)
    np.testing.assert_array_equal(state["conv.bias"], [4, 5, 6, 7])
    counter = state["bn.num_batches_tracked"]
    assert counter.shape == () and counter.dtype == np.int64 and counter == 7
    np.testing.assert_array_equal(state["half"], np.array([[0.5, -2.0]], dtype=np.float16))
    assert state["conv.weight"].dtype == np.float32 and state["half"].dtype == np.float16
    # Each array is an independent copy, not a view on the shared storage buffer.
    assert not np.shares_memory(state["conv.weight"], state["conv.bias"])
    state["conv.bias"][0] = 100.0
    assert state["conv.weight"][1, 0] == 4.0


def test_empty_state_dict(tmp_path):
    path = write_legacy_checkpoint(tmp_path / "empty.pth", collections.OrderedDict())
    assert load_legacy_state_dict(path) == {}


@pytest.mark.parametrize("where", ["state_dict", "sys_info"])
def test_forbidden_global_is_refused_and_never_runs(tmp_path, where):
    marker = tmp_path / "payload-ran"
    payload = RunsCode(f"touch {marker}")
    state = {"weight": contiguous("0", np.ones(2, dtype=np.float32))}
    if where == "state_dict":
        path = write_legacy_checkpoint(tmp_path / "evil.pth", {**state, "evil": payload})
    else:
        path = write_legacy_checkpoint(tmp_path / "evil.pth", state, sys_info=payload)
    with pytest.raises(ValueError, match="system"):
        load_legacy_state_dict(path)
    assert not marker.exists()


def test_non_tensor_state_is_refused(tmp_path):
    path = write_legacy_checkpoint(tmp_path / "list.pth", [1, 2, 3])
    with pytest.raises(ValueError, match="state dict"):
        load_legacy_state_dict(path)


def test_wrong_magic_number(tmp_path):
    path = write_legacy_checkpoint(tmp_path / "bad.pth", {}, magic=0x1234)
    with pytest.raises(ValueError, match="not a legacy PyTorch checkpoint"):
        load_legacy_state_dict(path)


def test_zip_format_checkpoint_is_refused(tmp_path):
    path = tmp_path / "new_format.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    with pytest.raises(ValueError, match="legacy PyTorch checkpoint"):
        load_legacy_state_dict(path)


@pytest.mark.parametrize("cut", [1, 16, 40 + 4], ids=["last-byte", "data", "count-header"])
def test_truncated_storage(tmp_path, cut):
    state = {"weight": contiguous("0", np.arange(10, dtype=np.float32))}
    path = write_legacy_checkpoint(tmp_path / "cut.pth", state)
    data = path.read_bytes()
    path.write_bytes(data[:-cut])
    with pytest.raises(ValueError, match="truncated|cannot read"):
        load_legacy_state_dict(path)


def _storage_of(count):
    return Storage("0", np.arange(count, dtype=np.float32))


# Tensors whose view does not fit their storage (16 float32): read as given they would copy
# process memory beyond the storage or crash, so each must be refused.
CRAFTED_TENSORS = {
    "size-exceeds-storage": (0, (4096,), (1,)),
    "2d-size-exceeds-storage": (0, (64, 64), (64, 1)),
    "last-element-one-past": (1, (16,), (1,)),
    "offset-beyond-storage": (1_000_000, (1,), (1,)),
    "negative-offset": (-8, (4,), (1,)),
    "negative-stride": (0, (4,), (-1_000,)),
    "huge-stride": (0, (2,), (2**40,)),
    "huge-size": (0, (2**62, 4), (4, 1)),
    "negative-size": (0, (-1,), (1,)),
    "size-stride-mismatch": (0, (2, 2), (1,)),
    "float-size": (0, (2.5,), (1,)),
    "int-size": (0, 4, (1,)),
    "broadcast-beyond-storage": (0, (1_000, 1_000), (0, 0)),
}


@pytest.mark.parametrize("offset, size, stride", CRAFTED_TENSORS.values(), ids=CRAFTED_TENSORS)
def test_tensor_that_does_not_fit_its_storage_is_refused(tmp_path, offset, size, stride):
    storage = _storage_of(16)
    state = {"good.weight": Tensor(storage, 0, (4, 4), (4, 1))}
    state["crafted.weight"] = Tensor(storage, offset, size, stride)
    path = write_legacy_checkpoint(tmp_path / "crafted.pth", state)
    with pytest.raises(ValueError, match="crafted.weight"):
        load_legacy_state_dict(path)


@pytest.mark.parametrize(
    "view",
    [("v", 12, 8), ("v", -4, 4), ("v", 0, 100), ("v", 0)],
    ids=["past-the-end", "negative-offset", "too-long", "malformed"],
)
def test_storage_view_outside_its_storage_is_refused(tmp_path, view):
    storage = Storage("0", np.arange(16, dtype=np.float32), view=view)
    path = write_legacy_checkpoint(tmp_path / "view.pth", {"w": Tensor(storage, 0, (2,), (1,))})
    with pytest.raises(ValueError, match="storage 0"):
        load_legacy_state_dict(path)


def test_storage_view_inside_its_storage_is_read(tmp_path):
    storage = Storage("0", np.arange(16, dtype=np.float32), view=("v", 4, 8))
    path = write_legacy_checkpoint(tmp_path / "view.pth", {"w": Tensor(storage, 2, (2, 3), (3, 1))})
    np.testing.assert_array_equal(load_legacy_state_dict(path)["w"], [[6, 7, 8], [9, 10, 11]])


def test_tensors_exactly_filling_their_storage_load(tmp_path):
    storage = _storage_of(16)
    state = {
        "all": Tensor(storage, 0, (16,), (1,)),
        "last": Tensor(storage, 15, (1,), (1,)),
        "columns": Tensor(storage, 3, (4,), (4,)),
        "empty": Tensor(storage, 16, (0,), (1,)),
    }
    loaded = load_legacy_state_dict(write_legacy_checkpoint(tmp_path / "fits.pth", state))
    np.testing.assert_array_equal(loaded["all"], np.arange(16))
    np.testing.assert_array_equal(loaded["last"], [15])
    np.testing.assert_array_equal(loaded["columns"], [3, 7, 11, 15])
    assert loaded["empty"].shape == (0,)


def test_tensor_without_a_storage_is_refused(tmp_path):
    path = write_legacy_checkpoint(tmp_path / "bare.pth", {"bare.weight": Tensor(5, 0, (1,), (1,))})
    with pytest.raises(ValueError, match="bare.weight"):
        load_legacy_state_dict(path)


@pytest.mark.parametrize("value", [3, "text", None], ids=["int", "str", "none"])
def test_state_entry_that_is_not_a_tensor_is_refused(tmp_path, value):
    path = write_legacy_checkpoint(tmp_path / "mixed.pth", {"odd.entry": value})
    with pytest.raises(ValueError, match="odd.entry"):
        load_legacy_state_dict(path)


@pytest.mark.real_weights
def test_bundled_efficientnet_lite0_checkpoint():
    state = load_legacy_state_dict(checkpoint_path("efficientnet_lite0"))
    assert len(state) == 296
    counters = [name for name in state if name.endswith("num_batches_tracked")]
    assert all(state[name].dtype == np.int64 for name in counters)
    parameters = sum(value.size for name, value in state.items() if name not in counters)
    assert parameters == 4_694_024
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_conv_stem.weight"].dtype == np.float32


class _ZipPickler(_LegacyPickler):
    """Writes persistent ids as the zip format does: 5 fields, no view."""

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        self.storages.setdefault(obj.key, obj)
        return ("storage", _STORAGE_CLASSES[obj.values.dtype], obj.key, "cpu", obj.values.size)


def write_zip_checkpoint(path, state, *, folder="archive", byteorder=b"little", extra=None):
    """Write ``state`` the way ``torch.save`` has since PyTorch 1.6 (stored zip entries);
    ``extra`` maps entry names to bytes that replace or add entries."""
    buffer = io.BytesIO()
    pickler = _ZipPickler(buffer)
    pickler.dump(state)
    entries = {f"{folder}/data.pkl": buffer.getvalue(), f"{folder}/byteorder": byteorder}
    for key, storage in pickler.storages.items():
        entries[f"{folder}/data/{key}"] = storage.values.astype(
            storage.values.dtype.newbyteorder("<")
        ).tobytes()
    entries |= extra or {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def test_zip_checkpoint_round_trip_with_a_nested_state_dict(tmp_path, shared_storage_state):
    checkpoint = {
        "netG_state_dict": shared_storage_state,
        "top": contiguous("9", np.ones(3, dtype=np.float32)),
    }
    state = load_checkpoint(write_zip_checkpoint(tmp_path / "weights.tar", checkpoint))
    assert list(state) == ["netG_state_dict", "top"]
    nested = state["netG_state_dict"]
    expected = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(nested["conv.weight"], expected)
    np.testing.assert_array_equal(nested["conv.weight_t"], expected.T)
    np.testing.assert_array_equal(nested["conv.bias"], [4, 5, 6, 7])
    assert nested["bn.num_batches_tracked"] == 7 and nested["half"].dtype == np.float16
    np.testing.assert_array_equal(state["top"], np.ones(3))


def test_zip_forbidden_global_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "payload-ran"
    state = {
        "weight": contiguous("0", np.ones(2, dtype=np.float32)),
        "evil": RunsCode(f"touch {marker}"),
    }
    with pytest.raises(ValueError, match="system"):
        load_checkpoint(write_zip_checkpoint(tmp_path / "evil.pt", state))
    assert not marker.exists()


def test_legacy_file_is_not_a_zip_checkpoint(tmp_path):
    path = write_legacy_checkpoint(tmp_path / "legacy.pth", {})
    with pytest.raises(ValueError, match="not a zip-format"):
        load_checkpoint(path)


def _weight_state():
    return {"weight": contiguous("0", np.arange(10, dtype=np.float32))}


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"archive/data/0": b"\0" * 8}, "holds 8 bytes, expected 40"),
        ({"archive/data/0": b"\0" * 400}, "holds 400 bytes, expected 40"),
        ({"archive/byteorder": b"big"}, "byte order"),
        ({"other/data.pkl": b"."}, "one <folder>/data.pkl"),
    ],
    ids=["truncated", "oversized", "big-endian", "two-pickles"],
)
def test_zip_checkpoint_with_bad_entries_is_refused(tmp_path, extra, message):
    path = write_zip_checkpoint(tmp_path / "bad.pt", _weight_state(), extra=extra)
    with pytest.raises(ValueError, match=message):
        load_checkpoint(path)


def test_zip_checkpoint_missing_a_storage_is_refused(tmp_path):
    path = write_zip_checkpoint(tmp_path / "full.pt", _weight_state())
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tmp_path / "cut.pt", "w") as cut:
        for info in source.infolist():
            if not info.filename.endswith("/data/0"):
                cut.writestr(info, source.read(info))
    with pytest.raises(ValueError, match="data/0 is missing"):
        load_checkpoint(tmp_path / "cut.pt")


def test_zip_checkpoint_with_a_compressed_storage_is_refused(tmp_path):
    path = tmp_path / "deflated.pt"
    buffer = io.BytesIO()
    _ZipPickler(buffer).dump(_weight_state())
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", buffer.getvalue())
        archive.writestr("archive/data/0", b"\0" * 40, compress_type=zipfile.ZIP_DEFLATED)
    with pytest.raises(ValueError, match="compressed"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "a/b", ""], ids=["traversal", "slash", "empty"]
)
def test_zip_storage_key_outside_the_data_folder_is_refused(tmp_path, key):
    state = {"weight": Tensor(Storage(key, np.ones(2, dtype=np.float32)), 0, (2,), (1,))}
    path = write_zip_checkpoint(tmp_path / "keys.pt", state, extra={})
    with pytest.raises(ValueError, match="storage key|missing"):
        load_checkpoint(path)


@pytest.mark.parametrize("offset, size, stride", CRAFTED_TENSORS.values(), ids=CRAFTED_TENSORS)
def test_zip_tensor_that_does_not_fit_its_storage_is_refused(tmp_path, offset, size, stride):
    storage = _storage_of(16)
    state = {"net": {"crafted.weight": Tensor(storage, offset, size, stride)}}
    with pytest.raises(ValueError, match="crafted.weight"):
        load_checkpoint(write_zip_checkpoint(tmp_path / "crafted.pt", state))


def test_zip_state_nested_deeper_than_a_checkpoint_dict_is_refused(tmp_path):
    state = {"a": {"b": {"weight": contiguous("0", np.ones(2, dtype=np.float32))}}}
    with pytest.raises(ValueError, match="a.b is a OrderedDict|a.b is a dict"):
        load_checkpoint(write_zip_checkpoint(tmp_path / "deep.pt", state))
