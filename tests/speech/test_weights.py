"""Tests for apps.speech.weights and apps.speech.tokenizer: CTranslate2 Whisper to Keras."""

import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from apps.speech import weights
from apps.speech.tokenizer import METADATA_FILE, WhisperTextTokenizer

CARDS = Path("/usr/share/pocketsphinx/test/data/cards")
TINY_EN_PARAMETERS = 37_760_256
TYPE_IDS = {"float32": 0, "int8": 1, "int16": 2, "int32": 3, "float16": 4}
NUMBER_WORDS = dict(zip("zero one two three four five six seven eight nine ten".split(), range(11)))


def write_ctranslate2(path, variables, aliases=(), spec="WhisperSpec", version=6, revision=3):
    """A model.bin in CTranslate2's layout (``ModelSpec._serialize``), written independently."""

    def string(text):
        return struct.pack("<H", len(text) + 1) + text.encode() + b"\0"

    parts = [struct.pack("<I", version), string(spec), struct.pack("<I", revision)]
    parts.append(struct.pack("<I", len(variables)))
    for name, value in variables.items():
        shape_bytes = struct.pack(f"<B{value.ndim}I", value.ndim, *value.shape)
        if version >= 4:
            size = struct.pack("<BI", TYPE_IDS[value.dtype.name], value.nbytes)
        else:
            size = struct.pack("<BI", value.dtype.itemsize, value.size)
        data = value.astype(value.dtype.newbyteorder("<")).tobytes()
        parts += [string(name), shape_bytes, size, data]
    parts.append(struct.pack("<I", len(aliases)))
    parts += [string(alias) + string(target) for alias, target in aliases]
    Path(path).write_bytes(b"".join(parts))


def small_variables():
    rng = np.random.default_rng(0)
    return {
        "a/weight": rng.normal(size=(3, 2)).astype(np.float16),
        "a/bias": rng.normal(size=(3,)).astype(np.float32),
        "a/num_heads": np.array(6, np.int16),
        "b/flag": np.array(1, np.int8),
        "b/ids": np.arange(4, dtype=np.int32).reshape(2, 2),
    }


@pytest.mark.parametrize("version", [3, 6])
def test_read_ctranslate2_round_trip(tmp_path, version):
    variables = small_variables()
    if version < 4:  # before v4 only item widths: 4 bytes is float32, 2 bytes int16
        del variables["b/ids"]
        variables["a/weight"] = variables["a/weight"].astype(np.float32)
    path = tmp_path / "model.bin"
    write_ctranslate2(path, variables, aliases=[("c/weight", "a/weight")], version=version)
    info, read = weights.read_ctranslate2(path)
    expected = {"binary_version": version, "spec_name": "WhisperSpec", "spec_revision": 3}
    assert info == expected | {"aliases": {"c/weight": "a/weight"}}
    assert set(read) == set(variables) | {"c/weight"}
    assert read["a/weight"].dtype == np.float32  # float16 upcast
    np.testing.assert_array_equal(read["a/weight"], variables["a/weight"].astype(np.float32))
    assert read["c/weight"] is read["a/weight"]
    for name in set(variables) - {"a/weight"}:
        np.testing.assert_array_equal(read[name], variables[name])
        assert read[name].dtype == variables[name].dtype
        assert read[name].shape == variables[name].shape


def test_read_ctranslate2_bfloat16(tmp_path):
    path = tmp_path / "model.bin"
    write_ctranslate2(path, {"x": np.zeros(2, np.float32)})
    values = np.array([1.5, -2.0], np.float32)
    # Patch the float32 variable into a bfloat16 one: type id 5, the top halves as data.
    data = path.read_bytes()
    assert data.count(struct.pack("<BI", 0, 8)) == 1
    data = data.replace(struct.pack("<BI", 0, 8), struct.pack("<BI", 5, 4))
    data = data[:-12] + (values.view(np.uint32) >> 16).astype("<u2").tobytes() + data[-4:]
    path.write_bytes(data)
    np.testing.assert_array_equal(weights.read_ctranslate2(path)[1]["x"], values)


def test_read_ctranslate2_rejects_other_files(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"PK\x03\x04 this is a zip file, not a model")
    with pytest.raises(ValueError, match="binary version"):
        weights.read_ctranslate2(path)
    write_ctranslate2(path, small_variables())
    good = path.read_bytes()
    for broken in (good[:-30], good + b"\0", good[:4] + struct.pack("<H", 60000) + good[6:]):
        path.write_bytes(broken)
        with pytest.raises(ValueError):
            weights.read_ctranslate2(path)


def test_build_backbone_rejects_another_spec(tmp_path):
    path = tmp_path / "model.bin"
    write_ctranslate2(path, small_variables(), spec="TransformerSpec")
    with pytest.raises(ValueError, match="TransformerSpec"):
        weights.build_backbone(path)
    write_ctranslate2(path, small_variables())
    with pytest.raises(ValueError, match="lacks the Whisper variable"):
        weights.build_backbone(path)


def tiny_whisper_variables(num_layers=1, hidden=8, heads=2, ffn=16, vocab=20, mels=4):
    """Random arrays of a tiny Whisper with CTranslate2's names and shapes."""
    rng = np.random.default_rng(1)
    variables = {"encoder/num_heads": np.array(heads, np.int16)}

    def add(name, *shape):
        variables[name] = rng.normal(size=shape).astype(np.float16)

    def linear(prefix, out, *inputs):
        add(f"{prefix}/weight", out, *inputs)
        add(f"{prefix}/bias", out)

    def layer_norm(prefix):
        add(f"{prefix}/gamma", hidden)
        add(f"{prefix}/beta", hidden)

    linear("encoder/conv1", hidden, mels, 3)
    linear("encoder/conv2", hidden, hidden, 3)
    add("encoder/position_encodings/encodings", 6, hidden)
    add("decoder/position_encodings/encodings", 5, hidden)
    add("decoder/embeddings/weight", vocab, hidden)
    for part in ("encoder", "decoder"):
        layer_norm(f"{part}/layer_norm")
        for i in range(num_layers):
            layer = f"{part}/layer_{i}"
            cross = ("attention",) if part == "decoder" else ()
            for block in ("self_attention", "ffn") + cross:
                layer_norm(f"{layer}/{block}/layer_norm")
            linear(f"{layer}/self_attention/linear_0", 3 * hidden, hidden)
            linear(f"{layer}/self_attention/linear_1", hidden, hidden)
            linear(f"{layer}/ffn/linear_0", ffn, hidden)
            linear(f"{layer}/ffn/linear_1", hidden, ffn)
            if part == "decoder":
                linear(f"{layer}/attention/linear_0", hidden, hidden)
                linear(f"{layer}/attention/linear_1", 2 * hidden, hidden)
                linear(f"{layer}/attention/linear_2", hidden, hidden)
    return variables


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory):
    """(CTranslate2 arrays, converted backbone) of a random tiny Whisper."""
    variables = tiny_whisper_variables()
    path = tmp_path_factory.mktemp("tiny_whisper") / "model.bin"
    tied = [("decoder/projection/weight", "decoder/embeddings/weight")]
    write_ctranslate2(path, variables, aliases=tied)
    return variables, weights.build_backbone(path)


def test_tiny_whisper_config_and_parameter_count(tiny_whisper):
    variables, backbone = tiny_whisper
    assert (backbone.num_layers, backbone.num_heads, backbone.hidden_dim) == (1, 2, 8)
    assert (backbone.intermediate_dim, backbone.vocabulary_size, backbone.num_mels) == (16, 20, 4)
    assert backbone.max_encoder_sequence_length == 12
    assert backbone.max_decoder_sequence_length == 5
    # Every array but num_heads and the three key biases, which the softmax cancels.
    assert backbone.count_params() == sum(v.size for v in variables.values()) - 1 - 3 * 8


# "Keras weight[index] CTranslate2 array[index of the same element]". Attention kernels are
# (in, head, head_dim) with head_dim 4; fused q,k,v (or k,v) weights are (3 × out, in).
LAYOUT = [
    "encoder_token_embedding_conv_layer_2/kernel[2,5,1] encoder/conv2/weight[1,5,2]",
    "{KD}/self_attention/query/kernel[3,1,2] {CD}/self_attention/linear_0/weight[6,3]",
    "{KE}/self_attention_layer/value/bias[1,3] {CE}/self_attention/linear_0/bias[23]",
    "{KD}/cross_attention/key/kernel[0,1,3] {CD}/attention/linear_1/weight[7,0]",
    "{KD}/cross_attention/value/bias[0,1] {CD}/attention/linear_1/bias[9]",
    "{KD}/cross_attention/attention_output/kernel[1,2,5] {CD}/attention/linear_2/weight[5,6]",
    "{KE}/feedforward_output_dense/kernel[9,2] {CE}/ffn/linear_1/weight[2,9]",
]
LAYERS = {"KE": "transformer_encoder_layer_0", "KD": "transformer_decoder_layer_0"}
LAYERS |= {"CE": "encoder/layer_0", "CD": "decoder/layer_0"}


def _name_and_index(text):
    name, index = re.fullmatch(r"(\S+)\[([\d,]+)\]", text.format(**LAYERS)).groups()
    return name, tuple(int(i) for i in index.split(","))


@pytest.mark.parametrize("row", LAYOUT)
def test_tiny_whisper_weight_layout(tiny_whisper, row):
    variables, backbone = tiny_whisper
    (keras_path, keras_index), (ct2_name, ct2_index) = map(_name_and_index, row.split())
    (weight,) = [w for w in backbone.weights if w.path == keras_path]
    expected = variables[ct2_name].astype(np.float32)[ct2_index]
    assert np.asarray(weight)[keras_index] == expected


def test_tiny_whisper_runs(tiny_whisper):
    _, backbone = tiny_whisper
    outputs = backbone.predict_on_batch(backbone_inputs(np.ones((1, 12, 4)), [1, 2, 3]))
    assert outputs["decoder_sequence_output"].shape == (1, 3, 8)
    assert np.isfinite(outputs["decoder_sequence_output"]).all()


@pytest.fixture(scope="module")
def package_tokenizer():
    return WhisperTextTokenizer(weights.tiny_en_model_dir() / "tokenizer.json")


@pytest.mark.parametrize("text", ["Hello world.", " ten of clubs", "naïve café — 東京", "a  b\n"])
def test_tokenizer_round_trips(package_tokenizer, text):
    ids = package_tokenizer.encode(text)
    assert all(i < package_tokenizer.endoftext_id for i in ids)
    assert package_tokenizer.decode(ids) == text


def test_tokenizer_ids_and_specials(package_tokenizer):
    tokenizer = package_tokenizer
    assert tokenizer.encode("Hello world.") == [15496, 995, 13]
    assert tokenizer.encode(" world") == [995]  # the leading space belongs to the token
    assert (tokenizer.startoftranscript_id, tokenizer.notimestamps_id) == (50257, 50362)
    assert (tokenizer.eot_id, tokenizer.timestamp_begin_id) == (50256, 50363)
    assert tokenizer.prompt_ids() == [50257, 50362]
    ids = [50257, 50362, 50363, 15496, 995, 50413, 50256]
    assert tokenizer.decode(ids) == "Hello world"
    assert tokenizer.decode(ids, skip_special=False) == (
        "<|startoftranscript|><|notimestamps|><|0.00|>Hello world<|1.00|><|endoftext|>"
    )


@pytest.fixture(scope="module")
def tiny_en_preset(tmp_path_factory):
    preset_dir = tmp_path_factory.mktemp("whisper_tiny_en")
    weights.convert_whisper_tiny_en(preset_dir)
    return preset_dir


def normalize(text):
    """Lower case, no punctuation, number words as digits (Whisper writes "10 of clubs")."""
    words = re.sub(r"[^\w\s]", " ", text.lower()).split()
    return " ".join(str(NUMBER_WORDS.get(word, word)) for word in words)


def backbone_inputs(features, ids):
    return {
        "encoder_features": np.asarray(features, np.float32),
        "decoder_token_ids": np.array([ids], np.int32),
        "decoder_padding_mask": np.ones((1, len(ids)), np.int32),
    }


def greedy_transcribe(backbone, features, tokenizer, max_tokens=20):
    """Naive greedy decoding: the whole prefix each step, no cache (fine for tests)."""
    ids = tokenizer.prompt_ids()
    embeddings = np.asarray(backbone.token_embedding.embeddings)
    for _ in range(max_tokens):
        outputs = backbone.predict_on_batch(backbone_inputs(features, ids))
        ids.append(int(np.argmax(embeddings @ outputs["decoder_sequence_output"][0, -1])))
        if ids[-1] == tokenizer.eot_id:
            break
    return tokenizer.decode(ids)


def card_features(number):
    import keras_hub
    import soundfile

    path = CARDS / f"{number:03d}.wav"
    if not path.is_file():
        pytest.skip(f"{path} missing: apt-get install pocketsphinx-testdata")
    audio, sample_rate = soundfile.read(path, dtype="float32")
    assert sample_rate == 16000
    return np.asarray(keras_hub.layers.WhisperAudioConverter(num_mels=80)(audio[None]))


@pytest.mark.real_weights
def test_converted_preset_metadata_and_tokenizers(tiny_en_preset):
    import keras_hub

    metadata = json.loads((tiny_en_preset / METADATA_FILE).read_text())
    expected = {"prompt_ids": [50257, 50362], "eot_id": 50256, "sample_rate": 16000}
    expected |= {"num_mels": 80, "multilingual": False}
    assert {key: metadata[key] for key in expected} == expected
    assert metadata["special_ids"]["timestamp_begin"] == 50363
    assert 50257 in metadata["suppress_tokens"]
    ours = WhisperTextTokenizer.from_preset(tiny_en_preset)
    theirs = keras_hub.models.WhisperTokenizer.from_preset(str(tiny_en_preset))
    text = "Four queen of clubs, naïve café."
    assert [int(i) for i in theirs(text)] == ours.encode(text)


@pytest.fixture(scope="module")
def tiny_en_backbone(tiny_en_preset):
    import keras_hub

    return keras_hub.models.WhisperBackbone.from_preset(str(tiny_en_preset))


@pytest.mark.real_weights
def test_converted_whisper_transcribes_a_real_clip(tiny_en_preset, tiny_en_backbone):
    backbone = tiny_en_backbone
    assert backbone.count_params() == TINY_EN_PARAMETERS
    tokenizer = WhisperTextTokenizer.from_preset(tiny_en_preset)
    text = greedy_transcribe(backbone, card_features(1), tokenizer)
    assert normalize("ten of clubs") in normalize(text), text


@pytest.mark.real_weights
def test_encoder_matches_ctranslate2(tiny_en_backbone):
    ctranslate2 = pytest.importorskip("ctranslate2")  # not a dependency: a check when present
    import keras

    inputs, outputs = tiny_en_backbone.input, tiny_en_backbone.output
    encoder = keras.Model(inputs["encoder_features"], outputs["encoder_sequence_output"])
    features = card_features(5)
    ours = np.asarray(encoder.predict_on_batch(features))
    reference = ctranslate2.models.Whisper(str(weights.tiny_en_model_dir()), compute_type="float32")
    storage = ctranslate2.StorageView.from_array(np.ascontiguousarray(features.transpose(0, 2, 1)))
    theirs = np.asarray(reference.encode(storage, to_cpu=True))
    np.testing.assert_allclose(ours, theirs, atol=1e-2, rtol=1e-2)
