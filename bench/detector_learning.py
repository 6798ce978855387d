"""Detector learning curve: CenterNet on EfficientNet-Lite0 after a fixed CPU budget.

``python -m bench.detector_learning [--quick] [--budget-minutes M]`` makes a training set and a
separate held-out set of synthetic scenes (``apps.detection.scenes.make_scenes``, different
seeds), writes the training set as a VOC folder and fine-tunes the detector app's default
recipe on it through ``shared.lifecycle.run_training`` with ``apps.detection.train``, as the
``finetune`` command does (``bundled:efficientnet_lite0``, ``fine_tune`` mode, augmentation
on, no validation split). An extra Keras callback
(``bench.detector_curve``) scores the HELD-OUT set with pycocotools (``predict_samples`` +
``coco_map``) before training and every ``--eval-every`` epochs, and stops training once the
training clock (wall time inside ``fit`` minus those held-out evaluations) has used the budget.
Afterwards the saved run is loaded through ``Predictor`` for the final held-out mAP@[.5:.95] /
mAP50 / per-class AP and the inference speed (batch 1, warm-up excluded, median). Writes
``bench/results/detector_learning.json`` and ``bench/results/detector_learning.png``
(``bench.plot_results.plot_detector_learning``).
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import common
from bench.detector_curve import make_curve_callback, saved_weights_epoch
from bench.plot_results import plot_detector_learning

NAME = "detector_learning"
MODEL = "bundled:efficientnet_lite0"
EPOCHS = 10_000  # never reached: the wall-clock budget stops training
WARMUP_CALLS = 5


def detections_as_arrays(found):
    """``(boxes, scores, labels)`` of a Predictor's ``Detection`` list (labels as names)."""
    boxes = np.array([item.box for item in found], "float64").reshape(-1, 4)
    scores = np.array([item.score for item in found], "float64")
    return boxes, scores, [item.label for item in found]


def final_evaluation(predictor, held_out):
    """Held-out mAP of the saved run, raw decode (as the curve) and through the Predictor."""
    from apps.detection.centernet_fit import predict_samples
    from apps.detection.metrics import coco_map

    detector = predictor.detector
    names = held_out.class_names
    raw = coco_map(
        held_out,
        predict_samples(
            detector.model,
            held_out.samples,
            len(names),
            detector.image_size,
            detector.scale,
            detector.offset,
        ),
        names,
    )
    through_predictor = []
    for sample in held_out.samples:
        found = predictor.predict(sample.image, score_threshold=0.01).detections
        boxes, scores, labels = detections_as_arrays(found)
        through_predictor.append((boxes, scores, [names.index(label) for label in labels]))
    predictor_scores = coco_map(held_out, through_predictor, names)
    return raw, {key: predictor_scores[key] for key in ("map", "map50", "map75")}


def inference_speed(predictor, held_out):
    """Predictor.predict at batch 1 (default thresholds) over the held-out images."""
    images = [sample.image for sample in held_out.samples]
    for image in images[:WARMUP_CALLS]:
        predictor.predict(image)
    times = [common.timed(predictor.predict, image)[0] for image in images]
    return common.summarize(times, 1) | {
        "warmup_calls": WARMUP_CALLS,
        "mean_s": statistics.fmean(times),
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.detector_learning")
    parser.add_argument("--quick", action="store_true", help="2-minute budget, fewer scenes")
    parser.add_argument("--budget-minutes", type=float, default=None, help="training budget")
    parser.add_argument("--train-scenes", type=int, default=None)
    parser.add_argument("--held-out-scenes", type=int, default=None)
    parser.add_argument("--image-size", type=int, default=256, help="scene and input size")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--eval-every", type=int, default=1, help="epochs between evaluations")
    parser.add_argument("--plot-only", action="store_true", help="redraw the PNG from the JSON")
    parser.add_argument(
        "--classes", default="circle,square,triangle", help="comma-separated scene classes"
    )
    return parser.parse_args(argv)


def main(argv=None):
    """Run the benchmark, write the JSON and the PNG, print a table."""
    args = parse_args(argv)
    if args.plot_only:
        json_path = common.RESULTS_DIR / f"{NAME}.json"
        plot_detector_learning(json.loads(json_path.read_text()), json_path.with_suffix(".png"))
        return 0
    common.setup_environment()
    from apps.detection import scenes
    from apps.detection import train as detection_train
    from apps.detection.centernet_fit import load_backbone
    from apps.detection.config import FinetuneConfig
    from apps.detection.predictor import Predictor
    from shared.lifecycle import run_training

    settings = {
        "model": MODEL,
        "quick": args.quick,
        "budget_minutes": args.budget_minutes or (2.0 if args.quick else 12.0),
        "train_scenes": args.train_scenes or (120 if args.quick else 400),
        "held_out_scenes": args.held_out_scenes or (40 if args.quick else 100),
        "image_size": args.image_size,
        "max_objects": 4,
        "classes": args.classes.split(","),
        "train_seed": 0,
        "held_out_seed": 1,
        "batch_size": args.batch_size,
        "eval_every_epochs": args.eval_every,
        "mode": "fine_tune",
        "augment": True,
        "learning_rate": FinetuneConfig.learning_rate,
        "unfreeze_blocks": FinetuneConfig.unfreeze_blocks,
        "map_score_threshold": 0.01,
    }
    budget_s = settings["budget_minutes"] * 60
    script_start = time.perf_counter()
    size, classes = settings["image_size"], settings["classes"]
    make_seconds, (train, held_out) = common.timed(
        lambda: (
            scenes.make_scenes(settings["train_scenes"], size, 4, settings["train_seed"], classes),
            scenes.make_scenes(
                settings["held_out_scenes"], size, 4, settings["held_out_seed"], classes
            ),
        )
    )
    settings["train_objects"] = int(sum(len(s.labels) for s in train.samples))
    settings["held_out_objects"] = int(sum(len(s.labels) for s in held_out.samples))
    _, scale, offset = load_backbone(MODEL)  # the input scaling the training will use
    with tempfile.TemporaryDirectory(prefix="tz_detector_learning_") as tmp:
        data_dir = scenes.write_voc(train, Path(tmp) / "voc")
        config = FinetuneConfig(
            data=str(data_dir),
            model=MODEL,
            mode="fine_tune",
            epochs=EPOCHS,
            batch_size=settings["batch_size"],
            image_size=size,
            augment=True,
            validation_split=0.0,
            map_every=EPOCHS,  # the app's own (training-set) mAP only after epoch 1
            patience=EPOCHS,
            tensorboard=False,
            runs_dir=str(Path(tmp) / "runs"),
        )
        curve = make_curve_callback(held_out, size, scale, offset, budget_s, args.eval_every)
        print(
            f"training on {len(train.samples)} scenes for {settings['budget_minutes']:g} min; "
            f"held-out: {len(held_out.samples)} scenes",
            flush=True,
        )
        fit_start = time.perf_counter()
        run = run_training("detection", config, detection_train, callbacks=[curve], verbose=0)
        fit_seconds = time.perf_counter() - fit_start
        run_metrics = run.metrics
        load_seconds, predictor = common.timed(Predictor.load, run.ref, runs_dir=config.runs_dir)
        final, via_predictor = final_evaluation(predictor, held_out)
        speed = inference_speed(predictor, held_out)
    machine = common.machine_info()
    epochs_done = len(curve.losses)
    payload = {
        "benchmark": NAME,
        "machine": machine,
        "settings": settings,
        "timings_s": {
            "make_scenes": make_seconds,
            "run_training": fit_seconds,
            "training_clock": curve.losses[-1]["train_s"] if curve.losses else 0.0,
            "held_out_evaluations": curve.eval_s,
            "predictor_load": load_seconds,
            "script": time.perf_counter() - script_start,
        },
        "epochs": epochs_done,
        "steps_per_epoch": -(-len(train.samples) // settings["batch_size"]),
        "final": {
            "saved_weights_epoch": saved_weights_epoch(curve.losses),
            "map": final["map"],
            "map50": final["map50"],
            "map75": final["map75"],
            "per_class_ap": final["per_class_ap"],
            "via_predictor_nms": via_predictor,
            "train_set_map50_from_run": run_metrics.get("map50"),
            "train_set_map_from_run": run_metrics.get("map"),
        },
        "inference": speed | {"image_size": [size, size], "path": "Predictor.predict, batch 1"},
        "curve": curve.points,
        "train_loss": curve.losses,
    }
    path = common.write_results(NAME, payload)
    png = path.with_suffix(".png")
    plot_detector_learning(payload, png)
    print(
        f"{MODEL} CenterNet at {size}px on {machine['cpu_count']} CPU cores "
        f"({machine['cpu_model']}): {epochs_done} epochs in {settings['budget_minutes']:g} min"
    )
    common.print_table(
        ["epoch", "train min", "loss", "held-out mAP50", "held-out mAP"],
        [
            [
                p["epoch"],
                f"{p['train_s'] / 60:.1f}",
                "-" if p["loss"] is None else f"{p['loss']:.3f}",
                f"{p['map50']:.3f}",
                f"{p['map']:.3f}",
            ]
            for p in curve.points
        ],
    )
    print(f"saved run: weights of epoch {payload['final']['saved_weights_epoch']} (lowest loss)")
    per_class = ", ".join(f"{k} {v:.3f}" for k, v in final["per_class_ap"].items() if v is not None)
    print(
        f"final held-out mAP50 {final['map50']:.3f}, mAP@[.5:.95] {final['map']:.3f} "
        f"({per_class}); train-set mAP50 {run_metrics.get('map50', float('nan')):.3f}; "
        f"inference {speed['images_per_s']:.1f} images/s (batch 1, median "
        f"{speed['median_s'] * 1000:.1f} ms); written to {path} and {png}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
