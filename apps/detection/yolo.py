"""YOLOv3-tiny in plain Keras 3: the network built from a darknet cfg, the letterbox that
feeds it and the decoding of its YOLO heads into boxes.

A darknet cfg is a list of ``[section]`` blocks of ``key=value`` lines; ``parse_cfg`` reads it
and ``build_darknet`` turns its layers (convolutional, maxpool, route, upsample, yolo) into a
functional Keras model whose outputs are the raw maps of the YOLO heads, in cfg order. Each
darknet batch norm, ``gamma * (x - mean) / (sqrt(var) + 1e-6) + beta``, is folded into its
convolution's kernel and bias (see ``yolo_weights``), so every conv layer has a bias.
"""

import keras
import numpy as np

from shared.images import resize_image

LETTERBOX_FILL = 0.5  # darknet pads letterboxed images with mid gray


def parse_cfg(text):
    """The sections of a darknet cfg as ``[(name, {key: value})]`` (values as strings)."""
    sections = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise ValueError(f"darknet cfg: bad section line {raw!r}")
            sections.append((line[1:-1].strip(), {}))
        elif "=" in line and sections:
            key, value = line.split("=", 1)
            sections[-1][1][key.strip()] = value.strip()
        else:
            raise ValueError(f"darknet cfg: unexpected line {raw!r}")
    if not sections or sections[0][0] not in ("net", "network"):
        raise ValueError("darknet cfg: the first section must be [net]")
    return sections


def _ints(value):
    return [int(v) for v in value.split(",") if v.strip()]


def yolo_heads(sections):
    """Each ``[yolo]`` section's anchors ``(w, h)`` in input pixels and class count."""
    heads = []
    for name, options in sections[1:]:
        if name == "yolo":
            anchors = np.array(_ints(options["anchors"]), "float32").reshape(-1, 2)
            mask = _ints(options.get("mask", ",".join(map(str, range(len(anchors))))))
            heads.append({"anchors": anchors[mask].tolist(), "classes": int(options["classes"])})
    return heads


def conv_shapes(sections):
    """``[(filters, size, in_channels, batch_normalize)]`` of each conv layer, in cfg order."""
    channels, outputs, shapes = int(sections[0][1].get("channels", 3)), [], []
    for name, options in sections[1:]:
        if name == "convolutional":
            shapes.append(
                (
                    int(options["filters"]),
                    int(options["size"]),
                    channels,
                    bool(int(options.get("batch_normalize", 0))),
                )
            )
            channels = int(options["filters"])
        elif name == "route":
            channels = sum(outputs[_layer_index(i, len(outputs))] for i in _ints(options["layers"]))
        outputs.append(channels)
    return shapes


def _layer_index(index, current):
    absolute = index if index >= 0 else current + index
    if not 0 <= absolute < current:
        raise ValueError(f"darknet cfg: route to layer {index} from layer {current}")
    return absolute


def build_darknet(sections):
    """A Keras model of the cfg's layers: RGB in ``[0, 1]`` in, the YOLO heads' raw maps out.

    Convolutions are named ``conv_<n>`` (n counts conv layers from 0) and carry a bias;
    the darknet batch norm is folded into them when the weights are loaded. Convolutions
    are stride 1 with darknet's ``pad=1`` ("same"); max pools are "same" too, which is
    darknet's padding (right and bottom) wherever the input side is even or the stride 1,
    as in YOLOv3-tiny.
    """
    net = sections[0][1]
    size = (int(net.get("height", 416)), int(net.get("width", 416)), int(net.get("channels", 3)))
    inputs = keras.Input(size, name="image")
    x, outputs, heads, convs = inputs, [], [], 0
    for index, (name, options) in enumerate(sections[1:]):
        if name == "convolutional":
            if int(options.get("stride", 1)) != 1:  # darknet pads those on both sides
                raise ValueError("darknet cfg: only stride-1 convolutions are supported")
            if int(options.get("pad", 0)) != 1 and int(options["size"]) != 1:
                raise ValueError("darknet cfg: only padded convolutions are supported")
            x = keras.layers.Conv2D(
                int(options["filters"]),
                int(options["size"]),
                padding="same",
                name=f"conv_{convs}",
            )(x)
            convs += 1
            activation = options.get("activation", "linear")
            if activation == "leaky":
                x = keras.layers.LeakyReLU(negative_slope=0.1, name=f"leaky_{index}")(x)
            elif activation != "linear":
                raise ValueError(f"darknet cfg: activation {activation!r} is not supported")
        elif name == "maxpool":
            pool, stride = int(options["size"]), int(options.get("stride", 1))
            x = keras.layers.MaxPooling2D(pool, stride, padding="same", name=f"pool_{index}")(x)
        elif name == "upsample":
            x = keras.layers.UpSampling2D(int(options["stride"]), name=f"upsample_{index}")(x)
        elif name == "route":
            routed = [outputs[_layer_index(i, index)] for i in _ints(options["layers"])]
            x = routed[0]
            if len(routed) > 1:
                x = keras.layers.Concatenate(name=f"route_{index}")(routed)
        elif name == "yolo":
            heads.append(x)
        else:
            raise ValueError(f"darknet cfg: layer [{name}] is not supported")
        outputs.append(x)
    return keras.Model(inputs, heads, name="yolov3_tiny")


def letterbox(image, size):
    """``image`` (RGB uint8) scaled to fit ``size``² keeping its aspect, centred on gray.

    Returns:
        ``(float32 array size×size×3 in [0, 1], (scale_x, scale_y), (dx, dy))``: a pixel
        ``(x, y)`` of the image is at ``(x * scale_x + dx, y * scale_y + dy)`` in the
        letterboxed one (the two scales differ only by the rounding of the new size).
    """
    height, width = image.shape[:2]
    scale = min(size / width, size / height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    dx, dy = (size - new_w) // 2, (size - new_h) // 2
    boxed = np.full((size, size, 3), LETTERBOX_FILL, "float32")
    resized = resize_image(np.asarray(image, "uint8"), (new_h, new_w))
    boxed[dy : dy + new_h, dx : dx + new_w] = resized.astype("float32") / 255.0
    return boxed, (new_w / width, new_h / height), (dx, dy)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def decode(head_maps, heads, input_size, score_threshold):
    """Boxes of the YOLO heads' raw maps, one class per box (its best), above the threshold.

    Args:
        head_maps: one ``(grid_h, grid_w, anchors * (5 + classes))`` array per head.
        heads: ``yolo_heads(...)`` of the same cfg.
        input_size: the network's input side in pixels.
        score_threshold: minimum objectness × class probability.

    Returns:
        ``(boxes [n, 4] x1, y1, x2, y2 in input pixels, scores [n], class indices [n])``.
    """
    all_boxes, all_scores, all_labels = [], [], []
    for raw, head in zip(head_maps, heads):
        grid_h, grid_w = raw.shape[:2]
        anchors = np.asarray(head["anchors"], "float32")
        raw = np.asarray(raw, "float32").reshape(grid_h, grid_w, len(anchors), -1)
        objectness = _sigmoid(raw[..., 4])
        probabilities = objectness[..., None] * _sigmoid(raw[..., 5:])
        labels = probabilities.argmax(-1)
        scores = np.take_along_axis(probabilities, labels[..., None], -1)[..., 0]
        rows, cols, anchor = np.nonzero(scores >= score_threshold)
        cell = raw[rows, cols, anchor]
        centre_x = (cols + _sigmoid(cell[:, 0])) / grid_w * input_size
        centre_y = (rows + _sigmoid(cell[:, 1])) / grid_h * input_size
        box_w = np.exp(cell[:, 2]) * anchors[anchor, 0]
        box_h = np.exp(cell[:, 3]) * anchors[anchor, 1]
        all_boxes.append(
            np.stack(
                [
                    centre_x - box_w / 2,
                    centre_y - box_h / 2,
                    centre_x + box_w / 2,
                    centre_y + box_h / 2,
                ],
                -1,
            )
        )
        all_scores.append(scores[rows, cols, anchor])
        all_labels.append(labels[rows, cols, anchor])
    return (
        np.concatenate(all_boxes).reshape(-1, 4),
        np.concatenate(all_scores),
        np.concatenate(all_labels),
    )


def unletterbox(boxes, scale, offset):
    """Boxes in letterboxed input pixels back to the original image's pixels."""
    (scale_x, scale_y), (dx, dy) = scale, offset
    return (boxes - np.array([dx, dy, dx, dy], "float32")) / np.array(
        [scale_x, scale_y, scale_x, scale_y], "float32"
    )
