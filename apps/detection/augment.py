"""Box-aware augmentation and resizing with core Keras 3 layers (boxes move with pixels)."""

import numpy as np


def _run_box_layers(layers, image, boxes, labels):
    import keras

    data = {
        "images": np.asarray(image, "float32"),
        "bounding_boxes": {
            "boxes": np.asarray(boxes, "float32").reshape(-1, 4),
            "labels": np.asarray(labels, "int32"),
        },
    }
    for layer in layers:
        data = layer(data, training=True)
    image = np.clip(np.round(keras.ops.convert_to_numpy(data["images"])), 0, 255).astype("uint8")
    boxes, labels = (
        keras.ops.convert_to_numpy(data["bounding_boxes"][key]) for key in ("boxes", "labels")
    )
    return image, boxes.astype("float32"), labels.astype("int32")


def augment(image, boxes, labels, seed, *, scale=0.25, shift=0.1):
    """Random horizontal flip, scale jitter (±``scale``) and crop of one image and its boxes.

    Core Keras 3 box-aware layers do the work (``bounding_box_format="xyxy"``): RandomFlip,
    RandomZoom (zooming in crops around the centre, zooming out pads with black) and
    RandomTranslation (moves that crop window by up to ``shift`` of the size). Not
    RandomCrop: in Keras 3.15 its box transform subtracts the row offset from x and the column
    offset from y, and never clips at the far edges. Keras clips boxes to the image but keeps
    those pushed out as zero-width ones; they are dropped here. Returns ``(uint8 image of the
    same size, boxes, labels)``; the same seed gives the same result."""
    import keras

    box_format = {"bounding_box_format": "xyxy"}  # one seed per layer, so draws are independent
    layers = [keras.layers.RandomFlip("horizontal", seed=seed, **box_format)]
    if scale:
        zoom = keras.layers.RandomZoom(
            (-scale, scale), fill_mode="constant", seed=seed + 1, **box_format
        )
        layers.append(zoom)
    if shift:
        move = keras.layers.RandomTranslation(shift, shift, "constant", seed=seed + 2, **box_format)
        layers.append(move)
    image, boxes, labels = _run_box_layers(layers, image, boxes, labels)
    keep = (boxes[:, 2] - boxes[:, 0] >= 1) & (boxes[:, 3] - boxes[:, 1] >= 1)
    return image, boxes[keep], labels[keep]


def resize_with_boxes(image, boxes, size, *, letterbox=False):
    """Resize an image to ``size`` (height, width) and scale its boxes to match.

    A plain (stretching) bilinear resize without antialiasing by default, as the models'
    image converters and ``image_classify`` do; ``letterbox=True`` keeps the aspect ratio and
    pads the borders with black instead (Keras ``Resizing(pad_to_aspect_ratio=True)``)."""
    import keras

    layer = keras.layers.Resizing(*size, pad_to_aspect_ratio=letterbox, bounding_box_format="xyxy")
    boxes = np.asarray(boxes, "float32").reshape(-1, 4)
    image, boxes, _ = _run_box_layers([layer], image, boxes, np.zeros(len(boxes), "int32"))
    return image, boxes
