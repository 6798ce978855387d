"""Fine-tuning YOLOv3-tiny: the network with new output convolutions, targets and the loss.

The pretrained darknet trunk and neck are kept; the two 1x1 output convolutions become new
ones for the user's classes (3 anchors x (5 + classes) channels). For training, the two head
maps are flattened into one ``(rows, 5 + classes)`` output, a row per (head, cell, anchor) in
the order of ``yolo.decode``'s reshape; ``anchor_table`` describes the rows.

Targets follow darknet: each ground-truth box goes to the anchor (of the cfg's anchors, in
input pixels) whose shape overlaps it best, in the cell holding its centre, on every head
whose mask has that anchor. The loss is the classic YOLOv3 one (as keras-yolo3): centre
offsets by binary cross-entropy, log width and height by squared error, both weighted by
``2 - w * h`` (normalized box area), objectness by binary cross-entropy where predictions
that overlap some ground truth by more than the cfg's ``ignore_thresh`` are not pushed to 0,
and classes by binary cross-entropy; summed per image, averaged over the batch.
"""

import copy

import keras
import numpy as np

from apps.detection.yolo import build_darknet, parse_cfg, yolo_heads
from apps.detection.yolo_weights import CFG_NAME, package_dir

MAX_BOXES = 100  # ground truths per image kept for the ignore mask (all get targets)
YOLO_MODELS = ("bundled:yolov3_tiny_coco",)
OBJECTNESS_PRIOR = float(np.log(0.01 / 0.99))


def is_yolo_ref(ref):
    """Whether a fine-tune ``--model`` names a YOLO detector to start from."""
    return str(ref) in YOLO_MODELS


def finetune_sections(num_classes, image_size, folder=None):
    """The packaged cfg with the input at ``image_size``² and ``num_classes`` per head.

    Returns:
        ``(sections, output conv names, ignore threshold)``.
    """
    folder = folder or package_dir()
    sections = copy.deepcopy(parse_cfg((folder / CFG_NAME).read_text(encoding="utf-8")))
    sections[0][1].update(height=str(image_size), width=str(image_size))
    outputs, ignore, convs, last_conv = [], 0.7, 0, None
    for name, options in sections[1:]:
        if name == "convolutional":
            last_conv, convs = options, convs + 1
        elif name == "yolo":
            anchors = len(options.get("mask", options.get("num", "3")).split(","))
            last_conv["filters"] = str(anchors * (5 + num_classes))
            options["classes"] = str(num_classes)
            ignore = float(options.get("ignore_thresh", ignore))
            outputs.append(f"conv_{convs - 1}")
    return sections, outputs, ignore


def stages(model, output_names):
    """The pretrained conv layers in darknet stages (the convs between two max pools),
    bottom to top; the top stage holds the last trunk conv and the neck."""
    groups = [[]]
    for layer in model.layers:
        if isinstance(layer, keras.layers.MaxPooling2D) and groups[-1]:
            groups.append([])
        elif isinstance(layer, keras.layers.Conv2D) and layer.name not in output_names:
            groups[-1].append(layer)
    return [group for group in groups if group]


def build_model(num_classes, image_size, pretrained):
    """YOLOv3-tiny for ``num_classes``: ``(detection model, heads, output names, ignore)``.

    With ``pretrained``, every conv but the two new output ones takes the bundled COCO
    preset's weights. The new output convs start small (normal, sd 0.01) with an objectness
    bias of ``OBJECTNESS_PRIOR``, so the first steps do not spend themselves on pushing
    every anchor's objectness down."""
    sections, outputs, ignore = finetune_sections(num_classes, image_size)
    model = build_darknet(sections)
    if pretrained:
        from apps.detection.model import load_detector

        source = load_detector(YOLO_MODELS[0])[0].model
        for layer in model.layers:
            if isinstance(layer, keras.layers.Conv2D) and layer.name not in outputs:
                layer.set_weights(source.get_layer(layer.name).get_weights())
    for name in outputs:  # small outputs, objectness prior 0.01 (the RetinaNet/YOLOv5 start)
        layer = model.get_layer(name)
        kernel = keras.initializers.RandomNormal(stddev=0.01)(layer.kernel.shape)
        bias = np.zeros(layer.bias.shape, "float32").reshape(-1, 5 + num_classes)
        bias[:, 4] = OBJECTNESS_PRIOR
        layer.set_weights([keras.ops.convert_to_numpy(kernel), bias.ravel()])
    heads = yolo_heads(sections)
    for head, output in zip(heads, model.outputs):
        head["grid"] = int(output.shape[1])
    return model, heads, outputs, ignore


def set_trainable(model, output_names, mode, unfreeze_stages=0):
    """Freeze per mode: the new output convs always train; ``feature_extract`` (and a fine
    tune's warm-up, ``unfreeze_stages=0``) freezes the rest, ``fine_tune`` unfreezes the
    top ``unfreeze_stages`` darknet stages, ``scratch`` trains everything."""
    groups = stages(model, output_names)
    unfrozen = {layer.name for group in groups[len(groups) - unfreeze_stages :] for layer in group}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            layer.trainable = (
                mode == "scratch"
                or layer.name in output_names
                or (mode == "fine_tune" and layer.name in unfrozen)
            )


def training_model(model, num_classes):
    """The detection model's heads flattened and joined: ``(batch, rows, 5 + classes)``."""
    flat = [
        keras.layers.Reshape((-1, 5 + num_classes), name=f"flat_{index}")(head)
        for index, head in enumerate(model.outputs)
    ]
    joined = keras.layers.Concatenate(axis=1, name="rows")(flat) if len(flat) > 1 else flat[0]
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs  # takes a bare array
    return keras.Model(inputs, joined, name="yolo_train")


def detection_part(trainer):
    """The two-head detection model inside a ``training_model`` (same layers, same weights)."""
    heads = [layer for layer in trainer.layers if layer.name.startswith("flat_")]
    return keras.Model(trainer.inputs, [layer.input for layer in heads], name="yolov3_tiny")


def anchor_table(heads, image_size):
    """Per row: ``(cell x, cell y, grid width, grid height, anchor w, anchor h)``, anchors
    as fractions of the input side; ``heads`` as ``build_model`` gives them (with ``grid``)."""
    rows = []
    for head in heads:
        grid = head["grid"]
        ys, xs, anchor = np.meshgrid(
            np.arange(grid), np.arange(grid), np.arange(len(head["anchors"])), indexing="ij"
        )
        sizes = np.asarray(head["anchors"], "float32")[anchor.ravel()] / image_size
        fixed = np.full(xs.size, grid, "float32")
        rows.append(np.column_stack([xs.ravel(), ys.ravel(), fixed, fixed, sizes]))
    return np.concatenate(rows).astype("float32")


def encode_targets(boxes, labels, heads, image_size, num_classes):
    """The training target of one letterboxed image: ``(rows + MAX_BOXES, 5 + classes)``.

    Args:
        boxes: ``(n, 4)`` x1, y1, x2, y2 in input pixels; labels: ``(n,)`` class indices.

    The first rows (``anchor_table``'s) hold, for each responsible anchor, the box as
    normalized centre x, y, width, height, objectness 1 and the class one-hot; the last
    ``MAX_BOXES`` rows list the boxes (normalized x1, y1, x2, y2, 1) for the ignore mask.
    """
    table = anchor_table(heads, image_size)
    target = np.zeros((len(table) + MAX_BOXES, 5 + num_classes), "float32")
    offsets = np.cumsum([0] + [h["grid"] ** 2 * len(h["anchors"]) for h in heads])
    all_anchors = np.unique(
        np.concatenate([np.asarray(h["anchors"], "float32") for h in heads]), axis=0
    )
    boxes = np.asarray(boxes, "float32").reshape(-1, 4) / image_size
    for number, (box, label) in enumerate(zip(boxes, np.asarray(labels).reshape(-1))):
        width, height = box[2] - box[0], box[3] - box[1]
        if width <= 0 or height <= 0:
            continue
        centre = (box[:2] + box[2:]) / 2
        anchor_wh = all_anchors / image_size
        overlap = np.minimum(anchor_wh[:, 0], width) * np.minimum(anchor_wh[:, 1], height)
        best = all_anchors[np.argmax(overlap / (anchor_wh.prod(1) + width * height - overlap))]
        for index, head in enumerate(heads):
            matches = np.flatnonzero((np.asarray(head["anchors"]) == best).all(1))
            if not len(matches):
                continue
            grid = head["grid"]
            col, row = np.clip((centre * grid).astype(int), 0, grid - 1)
            at = offsets[index] + (row * grid + col) * len(head["anchors"]) + matches[0]
            target[at, :5] = [centre[0], centre[1], width, height, 1.0]
            target[at, 5:] = 0.0
            target[at, 5 + int(label)] = 1.0
        if number < MAX_BOXES:
            target[len(table) + number, :5] = [*box, 1.0]
    return target


def _bce_logits(target, logits):
    ops = keras.ops
    return ops.maximum(logits, 0) - logits * target + ops.log1p(ops.exp(-ops.abs(logits)))


@keras.saving.register_keras_serializable(package="transferzoo")
class YoloLoss(keras.losses.Loss):
    """The YOLOv3 loss (see the module docstring) of flattened rows against
    ``encode_targets`` targets."""

    def __init__(self, table, ignore_threshold=0.7, name="yolo_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.table = np.asarray(table, "float32")
        self.ignore_threshold = float(ignore_threshold)

    def call(self, y_true, y_pred):
        ops = keras.ops
        rows = self.table.shape[0]
        y_pred = ops.cast(y_pred, "float32")
        target, truth = y_true[:, :rows], y_true[:, rows:]
        cell, grid, anchor = self.table[:, 0:2], self.table[:, 2:4], self.table[:, 4:6]
        centre = (cell + ops.sigmoid(y_pred[..., 0:2])) / grid
        size = ops.exp(ops.clip(y_pred[..., 2:4], -10.0, 10.0)) * anchor
        corner_1, corner_2 = centre - size / 2, centre + size / 2
        truth_1, truth_2 = truth[:, None, :, 0:2], truth[:, None, :, 2:4]
        sides = ops.minimum(corner_2[:, :, None], truth_2) - ops.maximum(
            corner_1[:, :, None], truth_1
        )
        inter = ops.prod(ops.maximum(sides, 0.0), axis=-1)
        areas = ops.prod(size, axis=-1)[:, :, None] + ops.prod(truth_2 - truth_1, axis=-1)
        iou = inter / (areas - inter + 1e-9) * truth[:, None, :, 4]
        best_iou = ops.max(ops.stop_gradient(iou), axis=-1)
        ignored = ops.cast(best_iou > self.ignore_threshold, "float32")
        objects = target[..., 4]
        weight = objects * (2.0 - target[..., 2] * target[..., 3])
        xy_loss = ops.sum(_bce_logits(target[..., 0:2] * grid - cell, y_pred[..., 0:2]), -1)
        wh_target = ops.log(ops.maximum(target[..., 2:4], 1e-9) / anchor)
        wh_loss = 0.5 * ops.sum(ops.square(wh_target - y_pred[..., 2:4]), -1)
        box_loss = weight * (xy_loss + wh_loss)
        object_loss = objects * _bce_logits(1.0, y_pred[..., 4]) + (1.0 - objects) * (
            1.0 - ignored
        ) * _bce_logits(0.0, y_pred[..., 4])
        class_loss = objects * ops.sum(_bce_logits(target[..., 5:], y_pred[..., 5:]), -1)
        return ops.sum(box_loss + object_loss + class_loss, axis=-1)

    def get_config(self):
        return super().get_config() | {
            "table": self.table.tolist(),
            "ignore_threshold": self.ignore_threshold,
        }
