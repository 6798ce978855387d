"""Tests for shared.training: the plan, block unfreezing, the three modes and resuming."""

import keras
import numpy as np
import pytest

from apps.image_classify import data as data_lib
from shared import runs
from shared.efficientnet_lite import backbone_config
from shared.row_store import RowFile
from shared.splits import split_indices
from shared.training import TrainingPlan, finetune
from shared.unfreeze import block_groups, unfreeze_top_blocks

IMAGE_SIZE = 32
NUM_STAGES = 3  # the first stages of EfficientNet-Lite0, one block each


def _tiny_backbone():
    """EfficientNet-Lite0's architecture cut down to three one-block stages at width 0.25."""
    import keras_hub

    config = backbone_config("efficientnet_lite0")
    config = {
        key: value[:NUM_STAGES] if key.startswith("stackwise_") else value
        for key, value in config.items()
    }
    config.update(
        stackwise_num_repeats=[1] * NUM_STAGES,
        stackwise_width_coefficients=[0.25] * NUM_STAGES,
        num_features=64,
    )
    return keras_hub.models.EfficientNetBackbone(**config)


def _tiny_parts():
    import keras_hub

    from apps.image_classify.model import transfer_parts

    task = keras_hub.models.EfficientNetImageClassifier(backbone=_tiny_backbone(), num_classes=3)
    return transfer_parts(task)


def _is_batch_norm(layer):
    return isinstance(layer, keras.layers.BatchNormalization)


def _weights(layers):
    """{variable path: copy of its value} of every weight of ``layers``."""
    return {weight.path: np.array(weight.numpy()) for layer in layers for weight in layer.weights}


@pytest.fixture(scope="module")
def datasets():
    """Preprocessed (train, val) ``tf.data`` batches of the synthetic shapes."""
    data = data_lib.synthetic_shapes(num_per_class=5, image_size=IMAGE_SIZE)
    train_index, val_index = split_indices(data.labels, 0.2, seed=0)

    def scale(images):
        return images / 127.5 - 1.0

    def batches(index):
        return data_lib.to_dataset(data.images[index], data.labels[index], 4, scale)

    return batches(train_index), batches(val_index)


@pytest.fixture
def run(tmp_path):
    return runs.new_run("training_test", {}, runs_dir=tmp_path)


def _plan(mode, **overrides):
    values = dict(mode=mode, epochs=1, head_epochs=1, batch_size=4, tensorboard=False)
    return TrainingPlan(**(values | overrides))


def _assert_finite_history(history, keys=("loss", "val_loss", "accuracy")):
    for key in keys:
        assert len(history[key]) == 1, key
        assert np.isfinite(history[key]).all(), (key, history[key])


def test_plan_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="'finetune'"):
        TrainingPlan(mode="finetune")
    assert TrainingPlan().mode == "feature_extract"


def test_block_groups_group_layers_by_block_name():
    backbone = _tiny_backbone()
    groups = block_groups(backbone)
    assert [layer for group in groups for layer in group] == list(backbone.layers)
    names = [group[0].name for group in groups]
    blocks = {group[0].name.split("_")[0]: group for group in groups if len(group) > 1}
    assert sorted(blocks) == ["block1a", "block2a", "block3a"]
    for prefix, group in blocks.items():
        assert all(layer.name.startswith(prefix + "_") for layer in group)
        assert any(_is_batch_norm(layer) for layer in group)
    block_layers = sum(len(group) for group in blocks.values())
    assert block_layers == sum(layer.name.startswith("block") for layer in backbone.layers)
    assert names[-3:] == ["top_conv", "top_bn", "top_activation"]  # no block number: alone


def test_unfreeze_top_blocks_trains_the_top_groups_but_no_batch_norm():
    backbone = _tiny_backbone()
    names = unfreeze_top_blocks(backbone, 2)
    groups = block_groups(backbone)
    chosen = [group for group in groups if group[0].name in names]
    assert [group[0].name for group in chosen] == names
    blocks = [g for g in chosen if any(layer.weights for layer in g if not _is_batch_norm(layer))]
    assert len(blocks) == 2  # a BatchNorm-only group (top_bn) rides along, uncounted
    lowest = groups.index(chosen[0])
    for group in groups[lowest:]:  # nothing above the lowest chosen group is left frozen
        if any(layer.weights for layer in group if not _is_batch_norm(layer)):
            assert group in chosen, group[0].name
    chosen_layers = {id(layer) for group in chosen for layer in group}
    for layer in backbone.layers:
        if _is_batch_norm(layer):
            assert not layer.trainable, layer.name
        else:
            assert layer.trainable == (id(layer) in chosen_layers), layer.name
    assert backbone.trainable and backbone.trainable_weights
    assert all("_bn" not in weight.path for weight in backbone.trainable_weights)


def test_unfreeze_two_blocks_reaches_into_the_last_block():
    backbone = _tiny_backbone()
    unfreeze_top_blocks(backbone, 2)
    trainable = {layer.name for layer in backbone.layers if layer.trainable and layer.weights}
    assert "top_conv" in trainable
    assert any(name.startswith(f"block{NUM_STAGES}a_") for name in trainable), trainable


def test_feature_extract_trains_the_head_on_cached_features(datasets, run):
    parts = _tiny_parts()
    backbone_before = _weights(parts.backbone.layers)
    head_before = _weights(parts.head.layers)
    histories = finetune(parts, *datasets, _plan("feature_extract"), run, verbose=0)
    assert list(histories) == ["head"]
    _assert_finite_history(histories["head"])
    for path, value in _weights(parts.backbone.layers).items():
        np.testing.assert_array_equal(value, backbone_before[path], err_msg=path)
    head_after = _weights(parts.head.layers)
    assert any(not np.array_equal(head_after[path], head_before[path]) for path in head_before)
    train = RowFile.open(run.artifact("features/train"))  # on disk, reopened by a resume
    val = RowFile.open(run.artifact("features/val"))
    assert train.shape == (12, parts.head.input_shape[-1])
    assert val.shape == (3, parts.head.input_shape[-1])
    labels = np.load(run.artifact("features/train.labels.npy"))
    assert sorted(np.bincount(labels).tolist()) == [4, 4, 4]
    assert run.artifact("phases/head.weights.h5").is_file()


class EpochCounter(keras.callbacks.Callback):
    """Counts the epochs it sees."""

    def __init__(self):
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def test_fine_tune_trains_the_top_blocks_then_resumes_without_training(datasets, run):
    parts = _tiny_parts()
    backbone_before = _weights(parts.backbone.layers)
    counter = EpochCounter()
    histories = finetune(parts, *datasets, _plan("fine_tune"), run, callbacks=[counter])
    assert list(histories) == ["head", "fine_tune"] and counter.epochs == 2
    _assert_finite_history(histories["head"])
    _assert_finite_history(histories["fine_tune"])
    unfrozen = [layer for layer in parts.backbone.layers if layer.trainable and layer.weights]
    assert unfrozen and not any(_is_batch_norm(layer) for layer in unfrozen)
    changed = _weights(unfrozen)
    after = _weights(parts.backbone.layers)
    for path, value in after.items():
        if path in changed:
            assert not np.array_equal(value, backbone_before[path]), f"{path} did not train"
        else:  # frozen layers and every BatchNorm, moving statistics included
            np.testing.assert_array_equal(value, backbone_before[path], err_msg=path)
    final_weights = parts.model.get_weights()

    resumed_parts, resumed_counter = _tiny_parts(), EpochCounter()
    resumed = finetune(
        resumed_parts, *datasets, _plan("fine_tune"), run, callbacks=[resumed_counter]
    )
    assert resumed_counter.epochs == 0
    assert resumed == histories
    resumed_weights = resumed_parts.model.get_weights()
    assert len(resumed_weights) == len(final_weights)
    for resumed_value, final_value in zip(resumed_weights, final_weights):
        np.testing.assert_array_equal(resumed_value, final_value)


def test_scratch_trains_the_whole_backbone(datasets, run):
    parts = _tiny_parts()
    parts.backbone.trainable = False  # the recipe must turn it back on
    before = _weights(parts.backbone.layers)
    histories = finetune(parts, *datasets, _plan("scratch", learning_rate=1e-2), run, verbose=0)
    assert list(histories) == ["scratch"]
    _assert_finite_history(histories["scratch"])
    after = _weights(parts.backbone.layers)
    assert not np.array_equal(after["stem_conv/kernel"], before["stem_conv/kernel"])
    moving = [path for path in after if path.endswith("moving_mean")]
    assert moving and any(not np.array_equal(after[p], before[p]) for p in moving)
    assert not run.artifact("features").exists()


def test_extract_features_keeps_labels_aligned_with_a_shuffling_pipeline():
    import keras
    import tensorflow as tf

    from shared.training import extract_features

    values = np.arange(40, dtype="float32")
    dataset = (
        tf.data.Dataset.from_tensor_slices((values[:, None], values.astype("int32")))
        .shuffle(40, seed=1, reshuffle_each_iteration=True)
        .batch(8)
    )
    inputs = keras.Input((1,))
    identity = keras.Model(inputs, keras.layers.Identity()(inputs))
    features, labels = extract_features(identity, dataset, verbose=0)
    assert isinstance(features, RowFile)
    np.testing.assert_array_equal(features[:, 0], labels.astype("float32"))
    assert sorted(labels.tolist()) == list(range(40))
