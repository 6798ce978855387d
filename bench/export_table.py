"""Export table of a Fashion-MNIST classifier run: accuracy per format against the Keras model.

``python -m bench.export_table [--quick]`` writes a stratified Fashion-MNIST subset as a
class-per-folder image dataset, trains a feature-extraction run on the frozen
``bundled:efficientnet_lite0`` backbone with ``--export`` of every format (SavedModel, TFLite
float32 / float16 / int8, ONNX), and reports the table the run keeps in
``export/report.json``: size, accuracy on the run's held-out validation split, the drop from
the Keras model, top-1 agreement with it and ms per image, each export loaded back in its own
runtime (TensorFlow, the TFLite interpreter, ONNX Runtime).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from apps.image_classify import train as train_module
from apps.image_classify.config import EXPORT_FORMATS, FinetuneConfig
from bench import common
from shared.export_check import format_report, read_report
from shared.lifecycle import run_training
from shared.splits import split_indices

NAME = "export_table"
MODEL = "bundled:efficientnet_lite0"
FULL = {"per_class": 150, "image_size": 128, "epochs": 10}
QUICK = {"per_class": 30, "image_size": 96, "epochs": 5}


def write_dataset(folder, per_class, size, seed):
    """A stratified subset of Fashion-MNIST's train split as RGB PNGs, one folder a class."""
    from PIL import Image

    images, labels = common.load_fashion_mnist("train")
    _, chosen = split_indices(labels, per_class * 10 / len(labels), seed)
    for index in chosen:
        gray = Image.fromarray(images[index]).resize((size, size), Image.BILINEAR)
        name = common.FASHION_MNIST_CLASSES[labels[index]].replace("/", "-").replace(" ", "_")
        target = Path(folder) / name
        target.mkdir(parents=True, exist_ok=True)
        gray.convert("RGB").save(target / f"{index:05d}.png")
    return folder


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.export_table")
    parser.add_argument("--quick", action="store_true", help="fewer, smaller images (a smoke run)")
    parser.add_argument("--out", default=None, help="JSON file to write (default: results/)")
    return parser.parse_args(argv)


def main(argv=None):
    """Train, export, check; write ``bench/results/export_table.json`` and print the table."""
    args = parse_args(argv)
    common.setup_environment()
    begin = time.perf_counter()
    settings = dict(QUICK if args.quick else FULL)
    settings |= {
        "model": MODEL,
        "mode": "feature_extract",
        "quick": args.quick,
        "validation_split": 0.2,
        "seed": 42,
        "batch_size": 32,
        "data": f"Fashion-MNIST train idx file in {common.FASHION_MNIST_DIR}, a stratified "
        "subset written as RGB PNGs; exports scored on the run's validation split",
    }
    with tempfile.TemporaryDirectory(prefix="bench-export-") as workdir:
        folder = write_dataset(
            Path(workdir) / "fashion", settings["per_class"], settings["image_size"], 42
        )
        config = FinetuneConfig(
            data=str(folder),
            model=MODEL,
            mode="feature_extract",
            epochs=settings["epochs"],
            batch_size=settings["batch_size"],
            image_size=settings["image_size"],
            validation_split=settings["validation_split"],
            seed=settings["seed"],
            runs_dir=str(Path(workdir) / "runs"),
            export=EXPORT_FORMATS,
            tensorboard=False,
        )
        start = time.perf_counter()
        run = run_training("image_classify", config, train_module, verbose=0)
        wall = time.perf_counter() - start
        report = read_report(run)
        metrics = run.metrics
    payload = {
        "benchmark": NAME,
        "machine": common.machine_info(),
        "settings": settings,
        "run_accuracy": metrics["accuracy"],
        "train_and_export_wall_s": wall,
        "report": report,
        "accuracy_per_format": {"keras": report["keras"]["accuracy"]}
        | {row["format"]: row.get("accuracy") for row in report["exports"]},
        "script_wall_s": time.perf_counter() - begin,
    }
    path = common.write_results(NAME, payload, args.out)
    print(
        f"Fashion-MNIST, {settings['per_class']} images a class at {settings['image_size']}px, "
        f"{MODEL} feature extraction, {settings['epochs']} epochs"
    )
    print(format_report(report))
    print(f"train + export + check {wall:.0f} s; written to {path}")
    return 1 if any(row["status"] == "failed" for row in report["exports"]) else 0


if __name__ == "__main__":
    sys.exit(main())
