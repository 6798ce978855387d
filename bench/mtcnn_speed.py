"""MTCNN face detection: our Keras cascade vs the ``mtcnn`` package, same weights, same CPU.

``python -m bench.mtcnn_speed [--quick]`` converts the package's bundled weights into our
preset (``apps.detection.mtcnn_weights.convert_mtcnn``), then times (a) our
``MTCNNDetector.detect(image)`` and (b) ``mtcnn.MTCNN().detect_faces(image)`` on real
photos: scikit-image's astronaut, the same flipped, both side by side, and the astronaut
upscaled to 1280x720. Same settings for both (min face 20 px, scale factor 0.709,
thresholds 0.6 / 0.7 / 0.7: the package's own O-Net default is 0.8, so it is passed 0.7).
Warm-up calls are excluded; calls are interleaved (a, b, a, b, ...) so drift hits both alike.
Goal: ours at least as fast (ratio = package median / our median >= 1.0) with the same
faces (same count, boxes matched at high IoU).
"""

import argparse
import statistics
import sys
import tempfile

import numpy as np

from bench import common

NAME = "mtcnn_speed"
GOAL_RATIO = 1.0
SETTINGS = {"min_face_size": 20, "scale_factor": 0.709, "thresholds": (0.6, 0.7, 0.7)}


def sample_images():
    """Name → RGB uint8 photo: astronaut, flipped, side by side, 1280x720 upscale."""
    import skimage.data
    from PIL import Image

    astronaut = skimage.data.astronaut()
    flipped = np.ascontiguousarray(astronaut[:, ::-1])
    upscaled = Image.fromarray(astronaut).resize((1280, 720), Image.BILINEAR)
    return {
        "astronaut_512x512": astronaut,
        "flipped_512x512": flipped,
        "side_by_side_1024x512": np.concatenate([astronaut, flipped], axis=1),
        "upscaled_1280x720": np.asarray(upscaled),
    }


def package_boxes(faces):
    """The package's ``[x, y, w, h]`` boxes as ``[x1, y1, x2, y2]``."""
    return [[x, y, x + w, y + h] for x, y, w, h in (face["box"] for face in faces)]


def iou(a, b):
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def agreement(ours, theirs):
    """Count equality and IoU of greedily matched boxes, best pairs first.

    The package's JSON boxes are rounded to whole pixels, which alone costs ~1 % of IoU.
    """
    ours_boxes = [face["box"] for face in ours]
    theirs_boxes = package_boxes(theirs)
    pairs = sorted(
        ((iou(a, b), i, j) for i, a in enumerate(ours_boxes) for j, b in enumerate(theirs_boxes)),
        reverse=True,
    )
    used_ours, used_theirs, matched = set(), set(), []
    for value, i, j in pairs:
        if i not in used_ours and j not in used_theirs:
            used_ours.add(i)
            used_theirs.add(j)
            matched.append(value)
    return {
        "ours_count": len(ours_boxes),
        "package_count": len(theirs_boxes),
        "same_count": len(ours_boxes) == len(theirs_boxes),
        "mean_iou": statistics.fmean(matched) if matched else None,
        "min_iou": min(matched) if matched else None,
    }


def unrounded_agreement(ours, rows):
    """Largest difference to the package's unrounded output (boxes, scores), same order."""
    if len(ours) != len(rows) or not len(rows):
        return {"max_box_difference_px": None, "max_score_difference": None}
    boxes = np.array([face["box"] for face in ours])
    scores = np.array([face["score"] for face in ours])
    return {
        "max_box_difference_px": float(np.abs(boxes - rows[:, 1:5]).max()),
        "max_score_difference": float(np.abs(scores - rows[:, 5]).max()),
    }


def measure(run_ours, run_package, warmup, repeats):
    """Interleaved timings of both detectors on one image."""
    for _ in range(warmup):
        run_ours()
        run_package()
    ours_times, package_times = [], []
    for _ in range(repeats):
        ours_times.append(common.timed(run_ours)[0])
        package_times.append(common.timed(run_package)[0])
    ours = common.summarize(ours_times, 1) | {"times_s": ours_times}
    package = common.summarize(package_times, 1) | {"times_s": package_times}
    return {"ours": ours, "package": package, "ratio": package["median_s"] / ours["median_s"]}


def load_detectors():
    """(our detector, the package's detector, their load times in seconds)."""
    import mtcnn

    from apps.detection.mtcnn import load_mtcnn
    from apps.detection.mtcnn_weights import convert_mtcnn

    def load_ours():
        preset_dir = f"{tempfile.mkdtemp(prefix='mtcnn-bench-')}/preset"
        convert_mtcnn(preset_dir)
        return load_mtcnn(preset_dir)

    ours_seconds, ours = common.timed(load_ours)
    package_seconds, package = common.timed(mtcnn.MTCNN)
    return ours, package, {"ours_convert_and_load": ours_seconds, "package": package_seconds}


def run_all(ours, package, images, warmup, repeats):
    """Timings and agreement per image."""
    thresholds = SETTINGS["thresholds"]
    package_kwargs = {
        "min_face_size": SETTINGS["min_face_size"],
        "scale_factor": SETTINGS["scale_factor"],
        "threshold_pnet": thresholds[0],
        "threshold_rnet": thresholds[1],
        "threshold_onet": thresholds[2],
    }
    results = {}
    for name, image in images.items():

        def run_ours(image=image):
            return ours.detect(image, **SETTINGS)

        def run_package(image=image):
            return package.detect_faces(image, **package_kwargs)

        first_seconds, _ = common.timed(run_ours)  # the first call on a new image size
        result = measure(run_ours, run_package, warmup, repeats)
        result["ours_first_call_s"] = first_seconds
        result["agreement"] = agreement(run_ours(), run_package())
        rows = package.detect_faces(image, output_type="numpy", box_format="xyxy", **package_kwargs)
        result["agreement"] |= unrounded_agreement(run_ours(), rows)
        result["image_shape"] = list(image.shape)
        results[name] = result
    return results


def print_summary(results, machine, path, meets_goal):
    print(f"MTCNN on {machine['cpu_count']} CPU cores ({machine['cpu_model']})")
    rows = []
    for name, result in results.items():
        match = result["agreement"]
        rows.append(
            [
                name,
                f"{result['ours']['median_s'] * 1000:.1f}",
                f"{result['package']['median_s'] * 1000:.1f}",
                f"{result['ratio']:.2f}",
                f"{match['ours_count']}/{match['package_count']}",
                f"{match['mean_iou']:.3f}" if match["mean_iou"] is not None else "-",
                f"{match['max_box_difference_px']:.4f}"
                if match["max_box_difference_px"] is not None
                else "-",
            ]
        )
    common.print_table(
        ["image", "ours ms", "mtcnn ms", "ratio", "faces", "mean IoU", "max box diff px"], rows
    )
    print(f"goal ratio >= {GOAL_RATIO}: {'met' if meets_goal else 'NOT met'}; written to {path}")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.mtcnn_speed")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the benchmark, write ``bench/results/mtcnn_speed.json``, print a table."""
    args = parse_args(argv)
    common.setup_environment()
    import importlib.metadata

    warmup, repeats = (1, 5) if args.quick else (2, 15)
    ours, package, load_seconds = load_detectors()
    results = run_all(ours, package, sample_images(), warmup, repeats)
    machine = common.machine_info() | {"mtcnn": importlib.metadata.version("mtcnn")}
    ratios = [result["ratio"] for result in results.values()]
    meets_goal = all(ratio >= GOAL_RATIO for ratio in ratios) and all(
        result["agreement"]["same_count"] for result in results.values()
    )
    payload = {
        "benchmark": NAME,
        "machine": machine,
        "settings": SETTINGS | {"quick": args.quick, "warmup_calls": warmup, "repeats": repeats},
        "load_seconds": load_seconds,
        "results": results,
        "geometric_mean_ratio": float(np.exp(np.mean(np.log(ratios)))),
        "goal_ratio": GOAL_RATIO,
        "meets_goal": meets_goal,
    }
    path = common.write_results(NAME, payload)
    print_summary(results, machine, path, meets_goal)
    return 0


if __name__ == "__main__":
    sys.exit(main())
