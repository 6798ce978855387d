"""Which trainable detector learns faster: YOLOv3-tiny fine-tuned from COCO or CenterNet on
EfficientNet-Lite0, held-out mAP50 over the same training budget.

``python -m bench.detector_finetune [--quick] [--budget-minutes M] [--clock cpu|wall]`` makes a
training set and a separate held-out set of synthetic scenes (``apps.detection.scenes``: shapes
on photo, texture or colour backgrounds; different seeds; no photo set with boxes is bundled),
writes the training set as a VOC folder and trains each detector on it in turn through
``shared.lifecycle.run_training`` with ``apps.detection.train``, as ``python -m
apps.detection.finetune --model M`` does (the app's defaults: ``fine_tune`` mode, augmentation
on; no validation split). A callback scores the HELD-OUT set with pycocotools before training
and after every epoch, and stops training once the training clock has used the budget: by
default the process' CPU seconds (all threads), since the machine is shared and wall time
depends on what else runs; wall seconds are recorded too. The clock runs across the YOLO
warm-up and fine-tune phases and leaves out the held-out evaluations. The saved run is then
reloaded through ``Predictor`` for the final held-out mAP and the inference speed. Budgets
are modest (4 minutes each by default). Writes ``bench/results/detector_finetune.json`` and
``.png``."""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import common
from bench.detector_learning import detections_as_arrays, inference_speed
from bench.plot_results import pyplot

NAME = "detector_finetune"
MODELS = {
    "yolov3_tiny_coco": "bundled:yolov3_tiny_coco",
    "centernet_lite0": "bundled:efficientnet_lite0",
}
EPOCHS = 10_000  # never reached: the wall-clock budget stops training


def held_out_predictor(model_ref, held_out, size):
    """``predict(training model) -> detections`` of the held-out scenes, per architecture."""
    from apps.detection import centernet_fit, yolo_fit, yolo_train
    from apps.detection.model import YoloDetector
    from apps.detection.yolo import yolo_heads

    names = held_out.class_names
    if yolo_train.is_yolo_ref(model_ref):
        heads = yolo_heads(yolo_train.finetune_sections(len(names), size)[0])

        def predict_yolo(model):  # the training model's two-head part, same weights
            detector = YoloDetector(yolo_train.detection_part(model), names, heads, size)
            return yolo_fit.predict_samples(detector, held_out.samples)

        return predict_yolo
    _, scale, offset = centernet_fit.load_backbone(model_ref)
    return lambda model: centernet_fit.predict_samples(
        model, held_out.samples, len(names), size, scale, offset
    )


def make_budget_curve(held_out, predict, budget_s, clock="cpu"):
    """A Keras callback: held-out mAP at the start and after each epoch, over all the ``fit``
    calls of a run, and a stop once the training clock has used ``budget_s``: the process'
    CPU seconds (``clock="cpu"``, all threads; fair on a shared machine) or wall seconds,
    held-out evaluations excluded either way. Points record both clocks."""
    import keras

    from apps.detection.metrics import coco_map

    class BudgetCurve(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.points, self.start, self.epochs = [], None, 0
            self.eval_s = {"wall": 0.0, "cpu": 0.0}

        def now(self):
            return {"wall": time.perf_counter(), "cpu": time.process_time()}

        def clocks(self):
            now = self.now()
            return {key: now[key] - self.start[key] - self.eval_s[key] for key in now}

        def spent(self):
            return self.clocks()[clock] >= budget_s

        def evaluate(self, loss=None):
            began, clocks = self.now(), self.clocks()
            scores = coco_map(held_out, predict(self.model), held_out.class_names)
            point = {
                "epoch": self.epochs,
                "train_s": clocks["wall"],
                "train_cpu_s": clocks["cpu"],
                "map50": scores["map50"],
                "map": scores["map"],
                "loss": loss,
            }
            ended = self.now()
            for key in ended:
                self.eval_s[key] += ended[key] - began[key]
            self.points.append(point)
            print(
                f"  epoch {self.epochs:3d}  {point['train_s']:6.0f} s wall "
                f"{point['train_cpu_s']:6.0f} s CPU  held-out mAP50 {point['map50']:.3f}  "
                f"mAP {point['map']:.3f}",
                flush=True,
            )

        def on_train_begin(self, logs=None):
            if self.start is None:
                self.start = self.now()
                self.evaluate()
            elif self.spent():
                self.model.stop_training = True

        def on_train_batch_end(self, batch, logs=None):
            if self.spent():
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            if self.points and self.points[-1]["train_" + CLOCK_KEYS[clock]] >= budget_s:
                return  # a phase begun after the budget: one batch, no new point
            self.epochs += 1
            if self.spent():
                self.model.stop_training = True
            self.evaluate(float((logs or {}).get("loss", float("nan"))))

    return BudgetCurve()


CLOCK_KEYS = {"wall": "s", "cpu": "cpu_s"}


def final_evaluation(predictor, held_out):
    """Held-out mAP of the saved run through the Predictor (class-wise NMS)."""
    from apps.detection.metrics import coco_map

    names, predictions = held_out.class_names, []
    for sample in held_out.samples:
        found = predictor.predict(sample.image, score_threshold=0.01).detections
        boxes, scores, labels = detections_as_arrays(found)
        predictions.append((boxes, scores, [names.index(label) for label in labels]))
    scores = coco_map(held_out, predictions, names)
    return {key: scores[key] for key in ("map", "map50", "map75", "per_class_ap")}


def train_one(key, data_dir, held_out, settings, runs_dir):
    """One detector trained for the budget: its curve, final scores and speed."""
    from apps.detection import train as detection_train
    from apps.detection.config import FinetuneConfig
    from apps.detection.predictor import Predictor
    from shared.lifecycle import run_training

    size, model_ref = settings["image_size"], MODELS[key]
    config = FinetuneConfig(
        data=str(data_dir),
        model=model_ref,
        mode="fine_tune",
        epochs=EPOCHS,
        batch_size=settings["batch_size"],
        image_size=size,
        validation_split=0.0,
        map_every=EPOCHS,  # the app's own (training-set) mAP only at the first epochs
        patience=EPOCHS,
        tensorboard=False,
        runs_dir=str(runs_dir),
    )
    predict = held_out_predictor(model_ref, held_out, size)
    budget_s, clock = settings["budget_minutes"] * 60, settings["clock"]
    curve = make_budget_curve(held_out, predict, budget_s, clock)
    print(f"{key} ({model_ref}) for {settings['budget_minutes']:g} {clock} min", flush=True)
    fit_seconds, run = common.timed(
        run_training, "detection", config, detection_train, callbacks=[curve], verbose=0
    )
    predictor = Predictor.load(run.ref, runs_dir=config.runs_dir)
    final = final_evaluation(predictor, held_out)
    return {
        "model": model_ref,
        "epochs": curve.epochs,
        "phases": list(run.history),
        "run_training_s": fit_seconds,
        "held_out_evaluations_s": curve.eval_s,
        "load_average_after": list(os.getloadavg()),
        "curve": curve.points,
        "final": final,
        "best_map50": max(point["map50"] for point in curve.points),
        "inference": inference_speed(predictor, held_out),
    }


def minutes_to(curve, level, clock):
    """Training minutes until the held-out mAP50 first reached ``level`` (None: never)."""
    key = "train_" + CLOCK_KEYS[clock]
    return next((p[key] / 60 for p in curve if p["map50"] >= level), None)


def plot(payload, path):
    """Held-out mAP50 of each detector over its training clock."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7.2, 4.2), dpi=110)
    settings = payload["settings"]
    clock_key = "train_" + CLOCK_KEYS[settings.get("clock", "wall")]
    for key, result in payload["results"].items():
        curve = result["curve"]
        axes.plot(
            [p[clock_key] / 60 for p in curve],
            [p["map50"] for p in curve],
            marker="o",
            ms=3,
            label=f"{key}: final {result['final']['map50']:.3f}",
        )
    axes.set_xlabel(
        f"training {settings.get('clock', 'wall')} time (min), "
        f"{payload['machine']['cpu_count']} CPU cores, held-out evaluations excluded"
    )
    axes.set_ylabel("held-out mAP50")
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.set_title(
        f"{settings['train_scenes']} training scenes, {settings['held_out_scenes']} held out, "
        f"{settings['image_size']} px",
        fontsize=9,
    )
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.detector_finetune")
    parser.add_argument("--quick", action="store_true", help="1-minute budgets, fewer scenes")
    parser.add_argument("--budget-minutes", type=float, default=None, help="per detector")
    parser.add_argument("--train-scenes", type=int, default=None)
    parser.add_argument("--held-out-scenes", type=int, default=None)
    parser.add_argument("--image-size", type=int, default=256, help="scene and input size")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu", help="budget clock")
    return parser.parse_args(argv)


def main(argv=None):
    """Train both detectors for the same budget, write the JSON and the PNG, print a table."""
    args = parse_args(argv)
    common.setup_environment()
    from apps.detection import scenes

    settings = {
        "budget_minutes": args.budget_minutes or (1.0 if args.quick else 4.0),
        "clock": args.clock,
        "train_scenes": args.train_scenes or (40 if args.quick else 300),
        "held_out_scenes": args.held_out_scenes or (20 if args.quick else 80),
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "classes": list(scenes.SHAPES),
        "max_objects": 4,
        "train_seed": 0,
        "held_out_seed": 1,
        "mode": "fine_tune",
        "data": "synthetic scenes (apps.detection.scenes): no bundled photo set with boxes",
    }
    size, classes = settings["image_size"], settings["classes"]
    train = scenes.make_scenes(settings["train_scenes"], size, 4, 0, classes)
    held_out = scenes.make_scenes(settings["held_out_scenes"], size, 4, 1, classes)
    results = {}
    with tempfile.TemporaryDirectory(prefix="tz_detector_finetune_") as tmp:
        data_dir = scenes.write_voc(train, Path(tmp) / "voc")
        for key in args.models.split(","):
            results[key] = train_one(key, data_dir, held_out, settings, Path(tmp) / key)
    payload = {
        "benchmark": NAME,
        "machine": common.machine_info(),
        "settings": settings,
        "results": results,
    }
    path = common.write_results(NAME, payload)
    plot(payload, path.with_suffix(".png"))
    common.print_table(
        ["detector", "epochs", "mAP50 0.5 at (min)", "0.9 at (min)", "final mAP50", "mAP", "img/s"],
        [
            [
                key,
                r["epochs"],
                _minutes(minutes_to(r["curve"], 0.5, settings["clock"])),
                _minutes(minutes_to(r["curve"], 0.9, settings["clock"])),
                f"{r['final']['map50']:.3f}",
                f"{r['final']['map']:.3f}",
                f"{r['inference']['images_per_s']:.1f}",
            ]
            for key, r in results.items()
        ],
    )
    print(f"written to {path} and {path.with_suffix('.png')}")
    return 0


def _minutes(value):
    return "never" if value is None else f"{value:.1f}"


if __name__ == "__main__":
    sys.exit(main())
