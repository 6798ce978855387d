"""A keras-hub preset of a random EfficientNet with P3-P5 (strides 8-32): a CenterNet
backbone that builds in seconds, for tests of the fine-tune's mechanics."""


def save_tiny_backbone_preset(preset_dir, image_size=64):
    """Write the classifier preset into ``preset_dir``; returns it."""
    import keras_hub

    blocks = 4
    backbone = keras_hub.models.EfficientNetBackbone(
        stackwise_kernel_sizes=[3] * blocks,
        stackwise_num_repeats=[1] * blocks,
        stackwise_input_filters=[8, 8, 8, 16],
        stackwise_output_filters=[8, 8, 16, 16],
        stackwise_expansion_ratios=[1] * blocks,
        stackwise_squeeze_and_excite_ratios=[0] * blocks,
        stackwise_strides=[2] * blocks,
        stackwise_block_types=["v1"] * blocks,
        stackwise_width_coefficients=[1.0] * blocks,
        stackwise_depth_coefficients=[1.0] * blocks,
        activation="relu6",
        dropout=0.0,
        min_depth=None,
        use_depth_divisor_as_min_depth=True,
        cap_round_filter_decrease=True,
        num_features=1280,  # keras-hub 0.32's get_config() drops any other value
    )
    converter = keras_hub.layers.EfficientNetImageConverter(
        image_size=(image_size, image_size), scale=1 / 127.5, offset=-1.0
    )
    classifier = keras_hub.models.EfficientNetImageClassifier(
        backbone=backbone,
        num_classes=3,
        preprocessor=keras_hub.models.EfficientNetImageClassifierPreprocessor(converter),
    )
    classifier.save_to_preset(str(preset_dir))
    return preset_dir
