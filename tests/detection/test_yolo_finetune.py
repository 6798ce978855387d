"""Fine-tuning the bundled YOLOv3-tiny: target assignment, the loss, and a short run from the
COCO weights that reloads through the Predictor with the new class names."""

import json

import keras
import numpy as np
import pytest

from apps.detection import finetune, scenes, yolo, yolo_fit, yolo_train
from apps.detection.predictor import Predictor
from apps.detection.yolo_weights import load_yolov3_tiny
from shared.runs import list_runs

SIZE = 416
# yolov3-tiny.cfg: the stride-32 head has anchors 3-5, the stride-16 head anchors 0-2
HEADS = [
    {"anchors": [[81, 82], [135, 169], [344, 319]], "classes": 2, "grid": 13},
    {"anchors": [[10, 14], [23, 27], [37, 58]], "classes": 2, "grid": 26},
]
COARSE_ROWS = 13 * 13 * 3


def _logit(p):
    return np.log(p / (1 - p))


def test_a_box_goes_to_the_cell_of_its_centre_and_the_anchor_of_its_shape():
    boxes = np.array([[130, 15, 270, 185], [30, 50, 41, 64]], "float32")  # 140x170, 11x14
    target = yolo_train.encode_targets(boxes, [1, 0], HEADS, SIZE, num_classes=2)
    table = yolo_train.anchor_table(HEADS, SIZE)
    assert target.shape == (len(table) + yolo_train.MAX_BOXES, 7)
    responsible = np.flatnonzero(target[: len(table), 4])
    big = (3 * 13 + 6) * 3 + 1  # centre (200, 100) // 32 = column 6, row 3; anchor 135x169
    small = COARSE_ROWS + (3 * 26 + 2) * 3 + 0  # centre (35.5, 57) // 16; anchor 10x14
    assert responsible.tolist() == [big, small]
    np.testing.assert_allclose(table[big], [6, 3, 13, 13, 135 / SIZE, 169 / SIZE], rtol=1e-6)
    np.testing.assert_allclose(
        target[big], [200 / SIZE, 100 / SIZE, 140 / SIZE, 170 / SIZE, 1, 0, 1]
    )
    np.testing.assert_allclose(target[small, 4:], [1, 1, 0])
    truths = target[len(table) :]  # the boxes again, for the ignore mask
    np.testing.assert_allclose(truths[:2, :4] * SIZE, boxes, atol=1e-4)
    assert truths[:2, 4].tolist() == [1, 1] and not truths[2:].any()


def test_targets_read_back_through_the_decoder_give_the_boxes():
    boxes = np.array([[130, 15, 270, 185], [30, 50, 41, 64], [300, 300, 380, 390]], "float32")
    target = yolo_train.encode_targets(boxes, [1, 0, 1], HEADS, SIZE, num_classes=2)
    table = yolo_train.anchor_table(HEADS, SIZE)
    rows = np.full((len(table), 7), -10.0, "float32")
    for row in np.flatnonzero(target[: len(table), 4]):
        cell, grid, anchor = table[row, :2], table[row, 2:4], table[row, 4:]
        rows[row, :2] = _logit(target[row, :2] * grid - cell)
        rows[row, 2:4] = np.log(target[row, 2:4] / anchor)
        rows[row, 4:] = np.where(target[row, 4:] > 0, 10.0, -10.0)
    maps = [rows[:COARSE_ROWS].reshape(13, 13, 21), rows[COARSE_ROWS:].reshape(26, 26, 21)]
    found, scores, labels = yolo.decode(maps, HEADS, SIZE, 0.5)
    order = np.argsort(found[:, 0])
    np.testing.assert_allclose(found[order], boxes[np.argsort(boxes[:, 0])], atol=1e-2)
    assert labels[order].tolist() == [0, 1, 1] and (scores > 0.99).all()


def test_the_loss_falls_in_a_few_steps_on_scenes():
    keras.utils.set_random_seed(0)
    model, heads, outputs, ignore = yolo_train.build_model(3, 64, pretrained=False)
    assert outputs == ["conv_9", "conv_12"] and ignore == pytest.approx(0.7)
    assert [head["grid"] for head in heads] == [2, 4]
    yolo_train.set_trainable(model, outputs, "feature_extract")  # the new output convs only
    data = scenes.make_scenes(4, image_size=64, seed=0)
    arrays = [yolo_fit.letterboxed(sample, 64) for sample in data.samples]
    images = np.stack([image for image, _, _ in arrays])
    targets = np.stack([yolo_train.encode_targets(b, c, heads, 64, 3) for _, b, c in arrays])
    trainer = yolo_train.training_model(model, 3)
    loss = yolo_train.YoloLoss(yolo_train.anchor_table(heads, 64), ignore)
    trainer.compile(keras.optimizers.Adam(1e-2), loss=loss)
    losses = [float(loss(targets, trainer.predict_on_batch(images)))]
    for _ in range(20):
        trainer.train_on_batch(images, targets)
        losses.append(float(loss(targets, trainer.predict_on_batch(images))))
    assert np.isfinite(losses).all() and (np.diff(losses) < 0).all(), losses
    assert losses[-1] < 0.9 * losses[0], losses


@pytest.mark.real_weights
def test_a_short_fine_tune_from_coco_reloads_with_the_new_classes(tmp_path):
    classes = ("circle", "triangle")
    data = scenes.make_scenes(6, image_size=96, seed=0, classes=classes)
    folder = scenes.write_voc(data, tmp_path / "voc")
    runs_dir = tmp_path / "runs"
    argv = ["--data", str(folder), "--model", "bundled:yolov3_tiny_coco", "--epochs", "2"]
    argv += ["--image-size", "96", "--batch-size", "6", "--validation-split", "0"]
    argv += ["--no-tensorboard", "--runs-dir", str(runs_dir)]
    assert finetune.main(argv) == 0
    [run] = list_runs("detection", runs_dir=runs_dir)
    assert run.state == "complete" and run.labels == list(classes)
    assert set(run.history) == {"head", "fine_tune"}  # warm-up, then the top stages
    assert run.metrics["map_epochs"] == [1, 2]  # counted over both phases
    meta = json.loads(run.artifact("model/detector.json").read_text())
    assert meta["architecture"] == "yolov3_tiny" and meta["image_size"] == 96

    predictor = Predictor.load(run.ref, runs_dir=runs_dir)
    assert predictor.class_names == list(classes)
    found = predictor.predict(data.samples[0].image, score_threshold=0.0).detections
    assert found and {item.label for item in found} <= set(classes)
    model = predictor.detector.model
    assert [tuple(output.shape) for output in model.outputs] == [
        (None, 3, 3, 21),
        (None, 6, 6, 21),
    ]
    coco, _, _, _ = load_yolov3_tiny()  # the bottom stages stay frozen: still COCO's
    for name in ("conv_0", "conv_3"):
        for trained, original in zip(
            model.get_layer(name).get_weights(), coco.get_layer(name).get_weights()
        ):
            np.testing.assert_array_equal(trained, original)
    assert not np.allclose(
        model.get_layer("conv_11").get_weights()[0], coco.get_layer("conv_11").get_weights()[0]
    )
