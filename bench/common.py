"""Helpers shared by the benchmarks: environment, machine info, timing, idx files, JSON out."""

import datetime
import gzip
import json
import os
import platform
import statistics
import struct
import time
from pathlib import Path

import numpy as np

RESULTS_DIR = Path(__file__).with_name("results")
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = [
    "t-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
]


def setup_environment():
    """Offline, with a shared preset cache, unless the caller's environment says otherwise."""
    os.environ.setdefault("TRANSFERZOO_OFFLINE", "1")
    os.environ.setdefault("TRANSFERZOO_CACHE", "/tmp/tzcache")


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (None where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine_info():
    """Where and with what the figures were measured."""
    import keras
    import keras_hub
    import tensorflow as tf

    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "gpus": [device.name for device in tf.config.list_physical_devices("GPU")],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras_hub": keras_hub.__version__,
    }


def timed(function, *args, **kwargs):
    """``(seconds, result)`` of one call."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def summarize(seconds, batch_size):
    """Median, min, max and images/s of a list of per-call times."""
    median = statistics.median(seconds)
    return {
        "repeats": len(seconds),
        "median_s": median,
        "min_s": min(seconds),
        "max_s": max(seconds),
        "images_per_s": batch_size / median,
    }


def read_idx(path):
    """Read a (gzipped) idx file (the MNIST format) into a numpy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as file:
        zero, dtype_code, ndim = struct.unpack(">HBB", file.read(4))
        if zero != 0 or dtype_code != 0x08:
            raise ValueError(f"{path}: not an unsigned-byte idx file (header {dtype_code:#x})")
        shape = struct.unpack(f">{ndim}I", file.read(4 * ndim))
        data = np.frombuffer(file.read(), dtype=np.uint8)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {data.size} bytes for shape {shape}")
    return data.reshape(shape)


def load_fashion_mnist(split, root=FASHION_MNIST_DIR):
    """``(images (N, 28, 28) uint8, labels (N,) int32)`` of the "train" or "test" split."""
    prefix = {"train": "train", "test": "t10k"}[split]
    images = read_idx(Path(root) / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(Path(root) / f"{prefix}-labels-idx1-ubyte.gz")
    return images, labels.astype("int32")


def write_results(name, payload, out=None):
    """Write ``bench/results/<name>.json`` (or the file ``out``) and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = Path(out) if out else RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path


def print_table(headers, rows):
    """Print rows as a plain aligned text table."""
    cells = [list(map(str, headers))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths)))
        if index == 0:
            print("  ".join("-" * width for width in widths))
