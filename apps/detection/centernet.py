"""A CenterNet-style detector (Zhou et al., 2019, "Objects as Points") on a pretrained backbone.

Each object is the peak of a per-class heatmap at its box centre on a stride-8 grid, plus a
box size and a sub-cell offset regressed there. The neck is a small top-down pyramid over the
backbone's P3-P5 features. Decoding is a 3x3 max-pool peak search: no anchors, no NMS.
"""

import math

import keras
import numpy as np
from keras import ops

STRIDE = 8
SIZE_SCALE = 16.0  # sizes are regressed in units of 16 pixels of the input image


@keras.saving.register_keras_serializable(package="transferzoo")
class CenterNetLoss(keras.losses.Loss):
    """Penalty-reduced focal loss on the heatmaps + L1 on sizes and offsets at centres.

    ``y_true`` packs (classes heatmap, 2 size, 2 offset, 1 centre mask) on the last axis;
    ``y_pred`` packs (classes logits, 2 size, 2 offset).
    """

    def __init__(self, num_classes, size_weight=1.0, offset_weight=1.0, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.size_weight = size_weight
        self.offset_weight = offset_weight

    def call(self, y_true, y_pred):
        classes = self.num_classes
        heat_true, regress_true = y_true[..., :classes], y_true[..., classes : classes + 4]
        mask = y_true[..., classes + 4 :]
        probability = ops.clip(ops.sigmoid(y_pred[..., :classes]), 1e-4, 1 - 1e-4)
        positive = ops.cast(ops.equal(heat_true, 1.0), probability.dtype)
        positive_loss = -positive * ops.square(1 - probability) * ops.log(probability)
        negative_loss = (
            -(1 - positive)
            * ops.power(1 - heat_true, 4)
            * ops.square(probability)
            * ops.log(1 - probability)
        )
        num_objects = ops.maximum(ops.sum(mask, axis=(1, 2, 3)), 1.0)
        focal = ops.sum(positive_loss + negative_loss, axis=(1, 2, 3)) / num_objects
        error = ops.abs(y_pred[..., classes:] - regress_true) * mask
        size = ops.sum(error[..., :2], axis=(1, 2, 3)) / num_objects
        offset = ops.sum(error[..., 2:], axis=(1, 2, 3)) / num_objects
        return focal + self.size_weight * size + self.offset_weight * offset

    def get_config(self):
        return super().get_config() | {
            "num_classes": self.num_classes,
            "size_weight": self.size_weight,
            "offset_weight": self.offset_weight,
        }


def build_centernet(backbone, num_classes, width=64):
    """Detector model: images (already scaled) → (H/8, W/8, classes + 4) raw outputs."""
    pyramid = backbone.pyramid_outputs
    features = keras.Model(
        backbone.inputs, [pyramid["P3"], pyramid["P4"], pyramid["P5"]], name="pyramid"
    )
    images = keras.Input(backbone.input_shape[1:], name="images")
    p3, p4, p5 = features(images)
    x = keras.layers.Conv2D(width, 1, name="lateral_p5")(p5)
    x = keras.layers.GroupNormalization(groups=8, name="lateral_p5_norm")(x)
    for name, skip in (("p4", p4), ("p3", p3)):
        x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"up_{name}")(x)
        x = keras.layers.Add(name=f"merge_{name}")(
            [x, keras.layers.Conv2D(width, 1, name=f"lateral_{name}")(skip)]
        )
    # GroupNorm, not BatchNorm, in the new layers: with small batches BatchNorm's moving
    # statistics lag the training ones, and boxes decoded in inference mode drift.
    x = keras.layers.Conv2D(width, 3, padding="same", name="neck_conv")(x)
    x = keras.layers.GroupNormalization(groups=8, name="neck_norm")(x)
    x = keras.layers.ReLU(name="neck_relu")(x)
    prior = -math.log((1 - 0.1) / 0.1)  # start heatmaps at p = 0.1 (focal-loss init)
    heads = []
    for name, channels, bias in (
        ("heatmap", num_classes, prior),
        ("size", 2, 0.0),
        ("offset", 2, 0.0),
    ):
        h = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name=f"{name}_conv")(x)
        heads.append(
            keras.layers.Conv2D(
                channels, 1, name=f"{name}_out", bias_initializer=keras.initializers.Constant(bias)
            )(h)
        )
    outputs = keras.layers.Concatenate(name="detections", dtype="float32")(heads)
    return keras.Model(images, outputs, name="centernet"), features


def gaussian_radius(height, width, min_overlap=0.7):
    """CenterNet's radius: the largest centre shift keeping IoU ≥ ``min_overlap``."""
    a1, b1 = 1, height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1**2 - 4 * a1 * c1)) / 2
    a2, b2, c2 = 4, 2 * (height + width), (1 - min_overlap) * width * height
    r2 = (b2 + math.sqrt(b2**2 - 4 * a2 * c2)) / 2
    a3, b3, c3 = (
        4 * min_overlap,
        -2 * min_overlap * (height + width),
        (min_overlap - 1) * width * height,
    )
    r3 = (b3 + math.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return max(0, int(min(r1, r2, r3)))


def encode_targets(boxes, labels, image_size, num_classes):
    """Training target (H/8, W/8, classes + 5) for boxes in pixels of a square image."""
    grid = image_size // STRIDE
    target = np.zeros((grid, grid, num_classes + 5), "float32")
    ys, xs = np.mgrid[:grid, :grid]
    for (x1, y1, x2, y2), label in zip(np.asarray(boxes, float), labels):
        width, height = (x2 - x1) / STRIDE, (y2 - y1) / STRIDE
        if width <= 0 or height <= 0:
            continue
        cx, cy = (x1 + x2) / 2 / STRIDE, (y1 + y2) / 2 / STRIDE
        col, row = min(int(cx), grid - 1), min(int(cy), grid - 1)
        sigma = (2 * gaussian_radius(height, width) + 1) / 6
        splat = np.exp(-((xs - col) ** 2 + (ys - row) ** 2) / (2 * sigma**2))
        target[..., label] = np.maximum(target[..., label], splat)
        target[row, col, label] = 1.0
        target[row, col, num_classes : num_classes + 4] = (
            width * STRIDE / SIZE_SCALE,
            height * STRIDE / SIZE_SCALE,
            cx - col,
            cy - row,
        )
        target[row, col, num_classes + 4] = 1.0
    return target


def decode(outputs, num_classes, *, max_detections=100, score_threshold=0.05):
    """Raw outputs of one image (H/8, W/8, classes + 4) → (boxes xyxy in input pixels,
    scores, labels), best first."""
    heat = 1 / (1 + np.exp(-outputs[..., :num_classes]))
    padded = np.pad(heat, ((1, 1), (1, 1), (0, 0)), constant_values=0)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(0, 1))
    peaks = heat * (heat >= windows.max(axis=(-2, -1)))
    flat = peaks.reshape(-1)
    order = np.argsort(-flat)[:max_detections]
    order = order[flat[order] >= score_threshold]
    rows, cols, labels = np.unravel_index(order, peaks.shape)
    regress = outputs[rows, cols, num_classes:]
    sizes = np.maximum(regress[:, :2], 0) * SIZE_SCALE
    centres = (np.stack([cols, rows], axis=1) + regress[:, 2:]) * STRIDE
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    return boxes.astype("float32"), flat[order].astype("float32"), labels.astype("int32")
