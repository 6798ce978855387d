"""Teach's loop: seconds from the first capture to a live prediction, 3 classes x 20 captures.

``python -m bench.teach_loop [--captures N]`` feeds camera-sized frames (640x480 random
views of three photos, one photo per class) to ``apps.image_classify.teach.Teacher`` the way
the Teach page does: each capture is turned into backbone features when it is added, then
the head trains on the cached features and the first frame is predicted. The goal is 60 s on
2 CPU cores.

Peer, on the same frames saved as a class-per-folder dataset: the Train page's route, the
``feature_extract`` fine-tune CLI (``python -m apps.image_classify.finetune``, a new process
that loads the model, decodes the folder, caches features, trains its default epochs and
saves a run), timed from its start to its exit.

The browser test ``tests/browser/test_teach.py`` measures the same loop through the page
(``TRANSFERZOO_TEACH_CAPTURES=20``).
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import common

NAME = "teach_loop"
CLASSES = ("cat", "coffee", "rocket")
FRAME = (480, 640)


def camera_frames(photo, count, seed):
    """``count`` 640x480 frames: random crops of ``photo``, as a camera pointed at it moves."""
    from shared.images import resize_image

    rng = np.random.default_rng(seed)
    height, width = photo.shape[:2]
    frames = []
    for _ in range(count):
        top, left = rng.integers(0, height // 4), rng.integers(0, width // 4)
        crop = photo[top : top + 3 * height // 4, left : left + 3 * width // 4]
        frames.append(resize_image(crop, FRAME))
    return frames


def teach(frames, runs_dir):
    from apps.image_classify.teach import Teacher

    build_start = time.perf_counter()
    teacher = Teacher(runs_dir=runs_dir)
    build = time.perf_counter() - build_start
    start = time.perf_counter()
    capture_seconds = []
    for name, images in frames.items():
        for image in images:
            before = time.perf_counter()
            teacher.add(name, image)
            capture_seconds.append(time.perf_counter() - before)
    metrics = teacher.train(list(frames))
    first = next(iter(frames.values()))[0]
    label, score = teacher.predict(first)
    loop = time.perf_counter() - start
    return {
        "first_capture_to_live_prediction_s": round(loop, 2),
        "capture_ms_median": round(1000 * float(np.median(capture_seconds)), 1),
        "train_s": metrics["train_seconds"],
        "held_out_accuracy": metrics["accuracy"],
        "feature_extractor_build_s (at page open, before the first capture)": round(build, 2),
        "first_prediction": [label, round(score, 3)],
    }


def finetune_cli(frames, root, runs_dir):
    from PIL import Image

    data = Path(root) / "data"
    for name, images in frames.items():
        (data / name).mkdir(parents=True)
        for index, image in enumerate(images):
            Image.fromarray(image).save(data / name / f"{index:03d}.png")
    command = [
        *(sys.executable, "-m", "apps.image_classify.finetune", "--data", str(data)),
        *("--mode", "feature_extract", "--runs-dir", str(runs_dir)),
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return {"data_to_saved_run_s": round(time.perf_counter() - start, 2), "command": command[1:]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=int, default=20, help="captures per class")
    parser.add_argument("--out", help="results file (default bench/results/teach_loop.json)")
    args = parser.parse_args(argv)
    common.setup_environment()
    from skimage import data

    photos = {"cat": data.chelsea(), "coffee": data.coffee(), "rocket": data.rocket()}
    frames = {
        name: camera_frames(photo, args.captures, seed)
        for seed, (name, photo) in enumerate(photos.items())
    }
    with tempfile.TemporaryDirectory() as root:
        ours = teach(frames, Path(root) / "runs")
        print(f"teach: {ours['first_capture_to_live_prediction_s']} s first capture -> live")
        peer = finetune_cli(frames, root, Path(root) / "runs")
        print(f"finetune CLI (feature_extract): {peer['data_to_saved_run_s']} s")
    payload = {
        "bench": NAME,
        "classes": len(frames),
        "captures_per_class": args.captures,
        "goal_s": 60,
        "teach": ours,
        "peer_finetune_cli": peer,
        "ratio_peer_over_teach": round(
            peer["data_to_saved_run_s"] / ours["first_capture_to_live_prediction_s"], 2
        ),
        "machine": common.machine_info(),
    }
    print(common.write_results(NAME, payload, args.out))


if __name__ == "__main__":
    main()
