"""The Marian binary reader on synthetic files written the way Marian writes them."""

import struct

import numpy as np
import pytest
import yaml

from apps.translate.marian import TYPE_FLOAT32, TYPE_INT8, MarianFormatError, read_marian
from apps.translate.shortlist import MAGIC, Shortlist


def _int8_item(matrix, quant_mult, row_major):
    stored = matrix if row_major else matrix.T  # Marian's intgemm matrices are column-major
    data = np.round(stored * quant_mult).astype(np.int8).tobytes()
    return data + struct.pack("<f", quant_mult) + b"\0" * 252


def write_marian(path, items):
    """items: [(name, type, shape, bytes)] → a Marian io_binary file."""
    names = [name.encode() + b"\0" for name, *_ in items]
    out = struct.pack("<2Q", 1, len(items))
    for name, (_, kind, shape, data) in zip(names, items):
        out += struct.pack("<4Q", len(name), kind, len(shape), len(data))
    out += b"".join(names)
    out += b"".join(struct.pack(f"<{len(shape)}i", *shape) for _, _, shape, _ in items)
    out += struct.pack("<Q", 3) + b"\0\0\0"
    path.write_bytes(out + b"".join(data for *_, data in items))


def _sample_items():
    rng = np.random.default_rng(0)
    embedding = rng.integers(-100, 100, (5, 4)) / 50.0
    weight = rng.integers(-100, 100, (4, 3)) / 25.0
    bias = rng.normal(size=(1, 3)).astype(np.float32)
    config = yaml.safe_dump({"type": "transformer", "dim-emb": 4}).encode()
    items = [
        ("Wemb", TYPE_INT8, (5, 4), _int8_item(embedding, 50.0, row_major=True)),
        ("layer_W", TYPE_INT8, (4, 3), _int8_item(weight, 25.0, row_major=False)),
        ("layer_W_QuantMultA", TYPE_FLOAT32, (1, 1), struct.pack("<f", 7.0) + b"\0" * 252),
        ("layer_b", TYPE_FLOAT32, (1, 3), bias.tobytes()),
        ("special:model.yml", 0x101, (len(config),), config),
    ]
    return items, embedding, weight, bias


def test_reader_dequantises_and_transposes(tmp_path):
    items, embedding, weight, bias = _sample_items()
    write_marian(tmp_path / "model.bin", items)
    weights, config = read_marian(tmp_path / "model.bin")
    assert sorted(weights) == ["Wemb", "layer_W", "layer_b"]  # activation scales dropped
    np.testing.assert_allclose(weights["Wemb"], embedding, atol=1e-6)
    np.testing.assert_allclose(weights["layer_W"], weight, atol=1e-6)
    np.testing.assert_array_equal(weights["layer_b"], bias)
    assert config == {"type": "transformer", "dim-emb": 4}


@pytest.mark.parametrize("cut", [10, 200, -300])
def test_truncated_files_are_refused(tmp_path, cut):
    items, *_ = _sample_items()
    write_marian(tmp_path / "model.bin", items)
    data = (tmp_path / "model.bin").read_bytes()
    (tmp_path / "model.bin").write_bytes(data[:cut])
    with pytest.raises(MarianFormatError):
        read_marian(tmp_path / "model.bin")


def test_not_a_marian_file(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(MarianFormatError, match="not a Marian"):
        read_marian(tmp_path / "model.bin")


def test_shortlist_per_sentence_and_batch(tmp_path):
    lists = {0: [], 1: [9], 2: [7, 8], 3: [8, 11]}
    offsets = np.cumsum([0] + [len(lists[i]) for i in range(4)]).astype(np.uint64)
    flat = np.array([t for i in range(4) for t in lists[i]], np.uint32)
    header = struct.pack("<6Q", MAGIC, 0, 3, 2, len(offsets), len(flat))
    (tmp_path / "lex.bin").write_bytes(header + offsets.tobytes() + flat.tobytes())
    shortlist = Shortlist(tmp_path / "lex.bin")
    assert shortlist.ids([2, 0]).tolist() == [0, 1, 2, 7, 8]
    ids, bias = shortlist.batch([[2, 0], [3, 1, 0]])
    assert len(ids) % 256 == 0
    allowed = [set(ids[row == 0].tolist()) for row in bias]
    assert allowed == [{0, 1, 2, 7, 8}, {0, 1, 2, 8, 9, 11}]
    (tmp_path / "bad.bin").write_bytes(header)
    with pytest.raises(ValueError, match="shortlist"):
        Shortlist(tmp_path / "bad.bin")
