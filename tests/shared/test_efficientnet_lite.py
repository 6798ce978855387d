"""Tests for shared.efficientnet_lite: EfficientNet-Lite checkpoints to Keras presets."""

import json
from pathlib import Path

import numpy as np
import pytest

from shared import efficientnet_lite
from shared.image_backbones import IMAGE_BACKBONES
from shared.models import bundled_preset_dir
from shared.torch_pickle import load_legacy_state_dict

BN = ("weight", "bias", "running_mean", "running_var")
# Parameters without the num_batches_tracked counters, from the checkpoints themselves.
LITE_PARAMETERS = {
    "efficientnet_lite0": 4_694_024,
    "efficientnet_lite1": 5_470_344,
    "efficientnet_lite2": 6_150_168,
}


def _batch_norm(prefix):
    return {f"{prefix}.{name}" for name in BN}


def expected_timm_keys(repeats):
    """timm's EfficientNet-Lite key names, written out from timm's layout."""
    keys = {"conv_stem.weight", "conv_head.weight", "classifier.weight", "classifier.bias"}
    keys |= _batch_norm("bn1") | _batch_norm("bn2")
    for stage, count in enumerate(repeats):
        for j in range(count):
            block = f"blocks.{stage}.{j}"
            if stage == 0 and j == 0:  # expansion 1: depthwise then pointwise
                keys |= {f"{block}.conv_dw.weight", f"{block}.conv_pw.weight"}
                keys |= _batch_norm(f"{block}.bn1") | _batch_norm(f"{block}.bn2")
                continue
            keys |= {f"{block}.{conv}.weight" for conv in ("conv_pw", "conv_dw", "conv_pwl")}
            keys |= _batch_norm(f"{block}.bn1") | _batch_norm(f"{block}.bn2")
            keys |= _batch_norm(f"{block}.bn3")
    return keys


@pytest.fixture(scope="module")
def lite0_state():
    return load_legacy_state_dict(efficientnet_lite.checkpoint_path("efficientnet_lite0"))


def test_scaled_repeats():
    assert efficientnet_lite.scaled_repeats(1.0) == [1, 2, 2, 3, 3, 4, 1]
    assert efficientnet_lite.scaled_repeats(1.1) == [1, 3, 3, 4, 4, 5, 1]
    assert efficientnet_lite.scaled_repeats(1.2) == [1, 3, 3, 4, 4, 5, 1]


def test_rename_to_timm_on_a_small_state_dict():
    state = {
        "_conv_stem.weight": np.zeros((4, 3, 3, 3)),
        "_bn0.num_batches_tracked": np.array(3),
        "_blocks.0._depthwise_conv.weight": np.ones((4, 1, 3, 3)),
        "_blocks.1._expand_conv.weight": np.ones((8, 4, 1, 1)),
        "_blocks.2._project_conv.weight": np.ones((8, 8, 2, 2))[..., ::-1],
        "_fc.bias": np.arange(3.0),
    }
    renamed = efficientnet_lite.rename_to_timm(state, [1, 2])
    assert sorted(renamed) == [
        "blocks.0.0.conv_dw.weight",
        "blocks.1.0.conv_pw.weight",
        "blocks.1.1.conv_pwl.weight",
        "classifier.bias",
        "conv_stem.weight",
    ]
    assert all(value.flags.c_contiguous for value in renamed.values())
    np.testing.assert_array_equal(renamed["classifier.bias"], [0.0, 1.0, 2.0])


def test_unknown_variant():
    with pytest.raises(ValueError, match="efficientnet_lite9"):
        efficientnet_lite.checkpoint_path("efficientnet_lite9")


@pytest.mark.real_weights
def test_rename_to_timm_on_lite0(lite0_state):
    repeats = efficientnet_lite.scaled_repeats(1.0)
    renamed = efficientnet_lite.rename_to_timm(lite0_state, repeats)
    assert set(renamed) == expected_timm_keys(repeats)
    assert not any("num_batches_tracked" in key for key in renamed)
    assert {"blocks.0.0.conv_dw.weight", "blocks.6.0.conv_pwl.weight"} <= set(renamed)
    np.testing.assert_array_equal(renamed["classifier.weight"], lite0_state["_fc.weight"])
    np.testing.assert_array_equal(
        renamed["blocks.6.0.bn3.running_var"], lite0_state["_blocks.15._bn2.running_var"]
    )
    assert sum(value.size for value in renamed.values()) == LITE_PARAMETERS["efficientnet_lite0"]


@pytest.mark.real_weights
@pytest.mark.parametrize("variant", sorted(efficientnet_lite.LITE_VARIANTS))
def test_scaled_repeats_match_the_checkpoints(variant):
    state = load_legacy_state_dict(efficientnet_lite.checkpoint_path(variant))
    blocks = {int(key.split(".")[1]) for key in state if key.startswith("_blocks.")}
    depth = efficientnet_lite.LITE_VARIANTS[variant][3]
    assert sorted(blocks) == list(range(sum(efficientnet_lite.scaled_repeats(depth))))
    counters = {key for key in state if key.endswith("num_batches_tracked")}
    parameters = sum(value.size for key, value in state.items() if key not in counters)
    assert parameters == LITE_PARAMETERS[variant]


@pytest.mark.real_weights
@pytest.mark.parametrize("variant", sorted(efficientnet_lite.LITE_VARIANTS))
def test_bundled_conversion_reloads_as_a_native_preset(variant):
    import keras_hub

    preset_dir = Path(bundled_preset_dir(IMAGE_BACKBONES, variant))
    assert not (preset_dir / "timm").exists()
    classifier = keras_hub.models.ImageClassifier.from_preset(str(preset_dir))
    assert isinstance(classifier, keras_hub.models.EfficientNetImageClassifier)
    assert classifier.count_params() == LITE_PARAMETERS[variant]
    image_size = efficientnet_lite.LITE_VARIANTS[variant][1]
    assert tuple(classifier.preprocessor.image_converter.image_size) == (image_size, image_size)
    config = json.loads((preset_dir / "config.json").read_text())
    assert (
        config["config"]["num_features"]
        == efficientnet_lite.backbone_config(variant)["num_features"]
    )
    # Converted once: asking again returns the cached directory.
    assert Path(bundled_preset_dir(IMAGE_BACKBONES, variant)) == preset_dir
