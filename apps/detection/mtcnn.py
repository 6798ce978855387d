"""MTCNN face detection in plain Keras 3: the three nets and the cascade around them.

The nets are layer for layer those of the ``mtcnn`` package (1.0.0) and load its weights
(see ``mtcnn_weights.py``). The cascade follows that package's algorithm step by step so
that the boxes agree: image pyramid, P-Net proposals with per-scale then global NMS,
squaring, R-Net on 24x24 crops, O-Net on 48x48 crops with landmarks, a final "min" NMS.
Images are not transposed; the nets' ``Permute`` layers carry the original Caffe layout.
"""

import json
from pathlib import Path

import keras
import numpy as np

from shared.model_files import file_in

INPUT_OFFSET = 127.5
INPUT_SCALE = 1 / 128
DEFAULT_SETTINGS = {"min_face_size": 20, "thresholds": [0.6, 0.7, 0.7], "scale_factor": 0.709}
# IoU thresholds of the package: P-Net per scale, P-Net across scales, R-Net, O-Net ("min").
NMS_PNET_SCALE, NMS_PNET_ALL, NMS_RNET, NMS_ONET = 0.5, 0.7, 0.7, 0.7
PNET_CELL, PNET_STRIDE, PNET_MIN_SIZE = 12, 2, 12
KEYPOINT_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
_NMS_CHUNK = 1024


def _conv_prelu(x, filters, kernel, index):
    x = keras.layers.Conv2D(filters, kernel, name=f"conv{index}")(x)
    return keras.layers.PReLU(shared_axes=[1, 2], name=f"prelu{index}")(x)


def _max_pool(x, size, padding, index):
    return keras.layers.MaxPooling2D(size, 2, padding=padding, name=f"maxpooling{index}")(x)


def _dense_prelu(x, units, index):
    x = keras.layers.Permute((2, 1, 3), name="permute")(x)
    x = keras.layers.Flatten(name=f"flatten{index - 1}")(x)
    x = keras.layers.Dense(units, name=f"fc{index}")(x)
    return keras.layers.PReLU(name=f"prelu{index}")(x)


def build_pnet():
    """P-Net: fully convolutional; outputs (box regression (..., 4), face softmax (..., 2))."""
    inputs = keras.Input((None, None, 3), name="image")
    x = _max_pool(_conv_prelu(inputs, 10, 3, 1), 2, "same", 1)
    x = _conv_prelu(_conv_prelu(x, 16, 3, 2), 32, 3, 3)
    boxes = keras.layers.Conv2D(4, 1, name="conv4-1")(x)
    scores = keras.layers.Conv2D(2, 1, activation="softmax", name="conv4-2")(x)
    return keras.Model(inputs, [boxes, scores], name="pnet")


def build_rnet():
    """R-Net on 24x24 crops; outputs (box regression (n, 4), face softmax (n, 2))."""
    inputs = keras.Input((24, 24, 3), name="image")
    x = _max_pool(_conv_prelu(inputs, 28, 3, 1), 3, "same", 1)
    x = _max_pool(_conv_prelu(x, 48, 3, 2), 3, "valid", 2)
    x = _dense_prelu(_conv_prelu(x, 64, 2, 3), 128, 4)
    boxes = keras.layers.Dense(4, name="fc5-1")(x)
    scores = keras.layers.Dense(2, activation="softmax", name="fc5-2")(x)
    return keras.Model(inputs, [boxes, scores], name="rnet")


def build_onet():
    """O-Net on 48x48 crops; outputs (box regression (n, 4), landmarks (n, 10), softmax (n, 2))."""
    inputs = keras.Input((48, 48, 3), name="image")
    x = _max_pool(_conv_prelu(inputs, 32, 3, 1), 3, "same", 1)
    x = _max_pool(_conv_prelu(x, 64, 3, 2), 3, "valid", 2)
    x = _max_pool(_conv_prelu(x, 64, 3, 3), 2, "same", 3)
    x = _dense_prelu(_conv_prelu(x, 128, 2, 4), 256, 5)
    boxes = keras.layers.Dense(4, name="fc6-1")(x)
    landmarks = keras.layers.Dense(10, name="fc6-2")(x)
    scores = keras.layers.Dense(2, activation="softmax", name="fc6-3")(x)
    return keras.Model(inputs, [boxes, landmarks, scores], name="onet")


NET_BUILDERS = (build_pnet, build_rnet, build_onet)


def pyramid_scales(height, width, min_face_size, scale_factor, min_size=PNET_MIN_SIZE):
    """Scales of the image pyramid, computed exactly as the package does."""
    count = round(-((np.log(min(height, width) / min_size) / np.log(scale_factor)) + 1))
    return (min_size / min_face_size) * scale_factor ** np.arange(max(count, 0))


def sort_by_score(boxes):
    """Rows by descending score (last column), with the package's tie order."""
    return boxes[np.argsort(boxes[:, 4])[::-1]]


def _overlap(boxes, others, method):
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    area_others = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    width = np.minimum(boxes[:, None, 2], others[None, :, 2])
    width = np.maximum(0, width - np.maximum(boxes[:, None, 0], others[None, :, 0]))
    height = np.minimum(boxes[:, None, 3], others[None, :, 3])
    height = np.maximum(0, height - np.maximum(boxes[:, None, 1], others[None, :, 1]))
    inter = width * height
    if method == "min":
        return inter / np.minimum(area[:, None], area_others[None, :])
    return inter / (area[:, None] + area_others[None, :] - inter)


def nms(boxes, threshold, method="union"):
    """The package's NMS on score-sorted rows: drop a box if ANY higher-ranked box overlaps it.

    Unlike greedy NMS, a suppressed box still suppresses the boxes below it. Computed in
    column chunks so that thousands of proposals do not need an N x N matrix at once.
    """
    keep = np.ones(len(boxes), dtype=bool)
    for start in range(0, len(boxes), _NMS_CHUNK):
        stop = min(start + _NMS_CHUNK, len(boxes))
        with np.errstate(divide="ignore", invalid="ignore"):
            overlap = _overlap(boxes[:stop, :4], boxes[start:stop, :4], method) > threshold
        ranks = np.arange(stop)[:, None] < np.arange(start, stop)[None, :]
        keep[start:stop] = ~(overlap & ranks).any(axis=0)
    return boxes[keep]


def square(boxes):
    """Grow each box to a square around its centre (side = its longer side)."""
    boxes = boxes.copy()
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(width, height)
    boxes[:, 0] += (width - side) * 0.5
    boxes[:, 1] += (height - side) * 0.5
    boxes[:, 2:4] = boxes[:, 0:2] + side[:, None]
    return boxes


def refine(boxes, offsets):
    """Apply box regression offsets, in units of the box size (+1, as the package)."""
    boxes = boxes.copy()
    width = boxes[:, 2] - boxes[:, 0] + 1
    height = boxes[:, 3] - boxes[:, 1] + 1
    boxes[:, :4] += offsets * np.stack([width, height, width, height], axis=-1)
    return boxes


def crop_and_resize(image, boxes, size):
    """Bilinear crops of ``boxes`` (pixels) resized to ``size``², zero outside the image.

    ``tf.image.crop_and_resize`` semantics in numpy, with the package's box normalisation
    (coordinates divided by the image size, then sampled over ``size - 1`` steps).
    """
    height, width = image.shape[:2]
    steps = np.arange(size) / (size - 1)

    def sample_points(low, high, extent):
        low, high = low / extent, high / extent
        points = (low[:, None] + (high - low)[:, None] * steps) * (extent - 1)
        inside = (points >= 0) & (points <= extent - 1)
        first = np.clip(np.floor(points), 0, extent - 1).astype(int)
        second = np.clip(np.ceil(points), 0, extent - 1).astype(int)
        return first, second, (points - np.floor(points)).astype("float32")[..., None], inside

    top, bottom, y_lerp, y_in = sample_points(boxes[:, 1], boxes[:, 3], height)
    left, right, x_lerp, x_in = sample_points(boxes[:, 0], boxes[:, 2], width)
    rows_top, rows_bottom = top[:, :, None], bottom[:, :, None]
    cols_left, cols_right = left[:, None, :], right[:, None, :]
    x_lerp = x_lerp[:, None, :, :]
    upper = image[rows_top, cols_left] * (1 - x_lerp) + image[rows_top, cols_right] * x_lerp
    lower = image[rows_bottom, cols_left] * (1 - x_lerp) + image[rows_bottom, cols_right] * x_lerp
    crops = upper + (lower - upper) * y_lerp[:, :, None, :]
    valid = (y_in[:, :, None] & x_in[:, None, :])[..., None]
    return np.where(valid, crops, np.float32(0))


def pnet_boxes(scores, offsets, scale, threshold):
    """P-Net map cells above ``threshold`` → regressed boxes (x1, y1, x2, y2, score), sorted."""
    rows, cols = np.nonzero(scores > threshold)
    # The package's cell spans [stride * i + 1, stride * i + cell]: 11 pixels wide.
    offsets = offsets[rows, cols].astype("float64") * (PNET_CELL - 1)
    x1, y1 = cols * PNET_STRIDE + 1 + offsets[:, 0], rows * PNET_STRIDE + 1 + offsets[:, 1]
    x2 = cols * PNET_STRIDE + PNET_CELL + offsets[:, 2]
    y2 = rows * PNET_STRIDE + PNET_CELL + offsets[:, 3]
    boxes = np.stack([x1, y1, x2, y2, scores[rows, cols]], axis=-1)
    boxes[:, :4] /= scale
    return sort_by_score(boxes)


class MTCNNDetector:
    """The MTCNN cascade over three Keras nets.

    Args:
        pnet, rnet, onet: the nets (``build_*`` layouts), with weights.
        input_offset, input_scale: pixels are fed as ``(x - input_offset) * input_scale``.
    """

    def __init__(self, pnet, rnet, onet, input_offset=INPUT_OFFSET, input_scale=INPUT_SCALE):
        self.pnet, self.rnet, self.onet = pnet, rnet, onet
        self.input_offset, self.input_scale = input_offset, input_scale

    def detect(self, image, min_face_size=20, thresholds=(0.6, 0.7, 0.7), scale_factor=0.709):
        """Faces in one RGB uint8 image (H, W, 3).

        Returns:
            A list of ``{"box": [x1, y1, x2, y2], "score", "keypoints": {name: (x, y)}}``
            in pixels, best score first.
        """
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(
                f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}"
            )
        if not 0 < scale_factor < 1 or min_face_size <= 0 or len(thresholds) != 3:
            raise ValueError(
                f"bad settings: scale_factor={scale_factor} (0..1), min_face_size="
                f"{min_face_size} (> 0), thresholds={thresholds} (three values)"
            )
        normalized = (image.astype("float32") - self.input_offset) * self.input_scale
        boxes = self._propose(normalized, min_face_size, scale_factor, thresholds[0])
        if len(boxes):
            boxes = self._refine(normalized, square(boxes), thresholds[1])
        if len(boxes):
            boxes = self._output(normalized, square(boxes), thresholds[2])
        return _to_dicts(boxes, image.shape)

    def _propose(self, normalized, min_face_size, scale_factor, threshold):
        height, width = normalized.shape[:2]
        batch = keras.ops.convert_to_tensor(normalized[None])  # converted once for all scales
        found = []
        for scale in pyramid_scales(height, width, min_face_size, scale_factor):
            size = (int(height * scale), int(width * scale))
            if min(size) < PNET_MIN_SIZE:
                continue
            scaled = keras.ops.image.resize(batch, size, interpolation="area")
            offsets, scores = self.pnet.predict_on_batch(scaled)
            boxes = pnet_boxes(
                np.asarray(scores)[0, ..., 1], np.asarray(offsets)[0], scale, threshold
            )
            found.append(nms(boxes, NMS_PNET_SCALE))
        boxes = np.concatenate(found) if found else np.empty((0, 5))
        return nms(sort_by_score(boxes), NMS_PNET_ALL)

    def _refine(self, normalized, boxes, threshold):
        offsets, scores = self.rnet.predict_on_batch(crop_and_resize(normalized, boxes, 24))
        boxes = refine(boxes, np.asarray(offsets))
        boxes[:, 4] = np.asarray(scores)[:, 1]
        return nms(sort_by_score(boxes[boxes[:, 4] > threshold]), NMS_RNET)

    def _output(self, normalized, boxes, threshold):
        crops = crop_and_resize(normalized, boxes, 48)
        offsets, landmarks, scores = (np.asarray(out) for out in self.onet.predict_on_batch(crops))
        width = boxes[:, 2:3] - boxes[:, 0:1] + 1
        height = boxes[:, 3:4] - boxes[:, 1:2] + 1
        points_x = width * landmarks[:, :5] + boxes[:, 0:1] - 1
        points_y = height * landmarks[:, 5:] + boxes[:, 1:2] - 1
        boxes = refine(boxes, offsets)
        boxes[:, 4] = scores[:, 1]
        boxes = np.concatenate([boxes, points_x, points_y], axis=-1)
        return nms(sort_by_score(boxes[boxes[:, 4] > threshold]), NMS_ONET, method="min")


def _to_dicts(rows, image_shape):
    """Rows (box, score, 5 x, 5 y) → result dicts; boxes clipped to the image as the package."""
    height, width = image_shape[:2]
    results = []
    for row in rows:
        box = np.clip(row[:4], 0, [width - 1, height - 1, width - 1, height - 1])
        keypoints = {
            name: (float(row[5 + i]), float(row[10 + i])) for i, name in enumerate(KEYPOINT_NAMES)
        }
        results.append(
            {"box": [float(v) for v in box], "score": float(row[4]), "keypoints": keypoints}
        )
    return results


def load_mtcnn(preset_dir):
    """Load the detector from a preset directory written by ``mtcnn_weights.convert_mtcnn``."""
    preset_dir = Path(preset_dir)
    config_path = preset_dir / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{preset_dir} is not an MTCNN preset: no config.json")
    config = json.loads(config_path.read_text())
    nets = [
        keras.saving.load_model(file_in(preset_dir, config["nets"][name]), compile=False)
        for name in ("pnet", "rnet", "onet")
    ]
    return MTCNNDetector(
        *nets, input_offset=config["input_offset"], input_scale=config["input_scale"]
    )
