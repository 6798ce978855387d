"""Unfreeze the top blocks of a pretrained backbone for fine-tuning (BatchNorm stays frozen)."""

import re


def block_groups(backbone):
    """Group the backbone's layers into blocks by name prefix (``block6a_…`` → ``block6a``).

    Layers whose names carry no block number form their own group, so a model without
    named blocks falls back to one group per layer.
    """
    groups, keys = [], []
    for layer in backbone.layers:
        match = re.match(r"^([a-z_]*?\d+[a-z]?)_", layer.name)
        key = match.group(1) if match else layer.name
        if not keys or keys[-1] != key:
            keys.append(key)
            groups.append([])
        groups[-1].append(layer)
    return groups


def unfreeze_top_blocks(backbone, num_blocks):
    """Make the top ``num_blocks`` blocks trainable; BatchNorm stays frozen.

    Groups made only of normalization layers (EfficientNet's ``top_bn``, a transformer's
    final LayerNorm) do not count as blocks: they go with the block below them.

    Returns:
        Names of the unfrozen groups, bottom to top.
    """
    import keras

    normalization = (keras.layers.BatchNormalization, keras.layers.LayerNormalization)
    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = False
    chosen, counted = [], 0
    for group in reversed(block_groups(backbone)):
        if counted >= num_blocks:
            break
        if not any(layer.weights for layer in group):
            continue
        chosen.append(group)
        counted += any(layer.weights for layer in group if not isinstance(layer, normalization))
    for group in chosen:
        for layer in group:
            layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    return [group[0].name for group in reversed(chosen)]
