"""GAN transfer: FID over training wall time from the pretrained face generator vs from scratch.

``python -m bench.gan_transfer [--budget-minutes M] [--fid-every E] [--out-dir DIR]`` trains
the GAN app twice, one run after the other in one process, through
``shared.lifecycle.run_training`` with ``apps.gan.train``, on the same data with the same
DCGAN recipe (a new DCGAN discriminator, its loss and rate, batch 32, seed 0) and the same
wall-time budget, each with the app's defaults for its start:
- pretrained: ``--model bundled:dcgan_faces`` (the PyTorch DCGAN tutorial's generator trained
  on DigiFace-1M, from the ``gan-face-generate`` package); its generator learns at 1/20 of
  the discriminator's rate and DiffAugment is translation only (``apps.gan.model``);
- scratch: ``--architecture dcgan --image-size 64``, the app's DCGAN, both networks new.

Data: the 100 face images of scikit-image's ``data.lfw_subset()`` (Labeled Faces in the Wild,
greyscale 25x25 crops), enlarged to 64x64 (bicubic) and written as RGB PNG files: a target
domain unlike DigiFace's coloured synthetic faces, which the pretrained generator must adapt
to (grey, blurred, real faces). No download.

The app's ``FidCurve`` records FID and KID (bundled EfficientNet-Lite0 features at 128x128,
100 generated vs the 100 real images) every ``--fid-every`` epochs against the clock of
training alone (measurements excluded); the pretrained run also at its start (0 s).
From the curves: the scratch run's final FID (the target), the first training time at which
each run's FID is at or below it (linear interpolation between measurements), and the
speed-up = scratch's time / the pretrained run's time. Goal (issue 14): >= 3x. Writes
``gan_transfer.json`` and each run's final sample grid ``gan_transfer_<start>.png`` to
``--out-dir`` (default ``bench/results``).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import common
from bench.gan_projected_vs_dcgan import first_time_at_or_below, save_grid
from bench.machine_load import LoadMeter, busy_processes

NAME = "gan_transfer"
STARTS = ("scratch", "pretrained")
GOAL_SPEEDUP = 3.0
EPOCHS = 100_000  # never reached: the time budget stops training
IMAGE_SIZE = 64
NUM_FACES = 100  # lfw_subset(): 100 faces, then 100 non-faces
BATCH_SIZE = 32
SEED = 0
GRID_SAMPLES = 32


def write_faces(folder):
    """The LFW subset's faces as 64x64 RGB PNG files in ``folder``; returns it."""
    import numpy as np
    from PIL import Image
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    for index, face in enumerate(data.lfw_subset()[:NUM_FACES]):
        image = Image.fromarray(np.round(face * 255).astype("uint8")).convert("RGB")
        image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BICUBIC).save(folder / f"{index:03d}.png")
    return folder


def config_of(start, args, data, runs_dir):
    """The run's ``FinetuneConfig``: the same recipe, only the generator's start differs."""
    from apps.gan.config import FinetuneConfig

    start_options = (
        {"model": "bundled:dcgan_faces"}
        if start == "pretrained"
        else {"architecture": "dcgan", "image_size": IMAGE_SIZE}
    )
    return FinetuneConfig(
        data=str(data),
        epochs=EPOCHS,
        batch_size=BATCH_SIZE,
        fid_every=args.fid_every,
        fid_samples=NUM_FACES,
        time_budget_minutes=args.budget_minutes,
        seed=SEED,
        runs_dir=runs_dir,
        **start_options,
    )


def train(start, args, data, runs_dir):
    """One budgeted run; returns its figures and its final sample grid (uint8)."""
    from apps.gan import train as gan_train
    from apps.gan.predictor import Predictor, image_grid
    from shared.lifecycle import run_training

    config = config_of(start, args, data, runs_dir)
    meter = LoadMeter()
    wall_s, run = common.timed(run_training, "gan", config, gan_train, verbose=0)
    metrics, others = run.metrics, meter.others_fraction()
    curve = metrics["curve"]
    steps = curve[-1]["epoch"] * (metrics["num_images"] // BATCH_SIZE)
    samples = Predictor.load(run.ref, runs_dir=runs_dir).predict(GRID_SAMPLES, seed=SEED)
    result = {
        "start": metrics["start"],
        "architecture": metrics["architecture"],
        "epochs": curve[-1]["epoch"],
        "steps": steps,
        "train_seconds": curve[-1]["train_seconds"],
        "seconds_per_step": curve[-1]["train_seconds"] / steps,
        "wall_seconds_incl_fid_and_setup": wall_s,
        "others_cpu_fraction": others,
        "first_fid": curve[0]["fid"],
        "final_fid": curve[-1]["fid"],
        "best_fid": min(point["fid"] for point in curve),
        "final_kid": curve[-1]["kid"],
        "feature_network": metrics["feature_network"],
        "num_images": metrics["num_images"],
        "curve": curve,
    }
    return result, image_grid(samples.images)


def real_floor(data):
    """FID between two halves of the real faces: the floor these sample counts allow."""
    from apps.gan.data import load_images
    from apps.gan.metrics import compute_fid_kid, get_feature_extractor

    faces = load_images(str(data), IMAGE_SIZE)
    half = len(faces) // 2
    scores = compute_fid_kid(faces[:half], faces[half:], get_feature_extractor())
    return {key: scores[key] for key in ("fid", "kid", "num_real", "num_fake")}


def compare(results):
    """Target = the scratch run's final FID; when each run first reaches it; the speed-up."""
    scratch, pretrained = results["scratch"], results["pretrained"]
    target = scratch["final_fid"]
    scratch_time = first_time_at_or_below(scratch["curve"], target)
    pretrained_time = first_time_at_or_below(pretrained["curve"], target)
    if pretrained_time is None:
        speedup = None
    elif pretrained_time == 0:
        speedup = float("inf")
    else:
        speedup = scratch_time / pretrained_time
    return {
        "target_fid": target,
        "scratch_first_time_at_target_s": scratch_time,
        "scratch_final_time_s": scratch["curve"][-1]["train_seconds"],
        "pretrained_time_to_target_s": pretrained_time,
        "speedup": None if speedup is None or speedup == float("inf") else speedup,
        "reached_at_start": pretrained_time == 0,
        "pretrained_fid_at_start": pretrained["first_fid"],
        "fid_ratio_final_scratch_over_pretrained": target / pretrained["final_fid"],
        "goal_speedup": GOAL_SPEEDUP,
        "meets_goal": bool(speedup is not None and speedup >= GOAL_SPEEDUP),
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=f"python -m bench.{NAME}")
    parser.add_argument(
        "--budget-minutes", type=float, default=3.0, help="training wall time per run (3)"
    )
    parser.add_argument("--fid-every", type=int, default=8, help="epochs between FIDs (8)")
    parser.add_argument("--out-dir", type=Path, default=common.RESULTS_DIR, help="where results go")
    return parser.parse_args(argv)


def settings(args):
    """What both runs shared."""
    from apps.gan.model import (
        AUGMENT_POLICIES,
        LEARNING_RATES,
        PRETRAINED_AUGMENT_POLICY,
        PRETRAINED_GENERATOR_RATE_SCALE,
    )

    rate = LEARNING_RATES["dcgan"]
    return {
        "data": f"scikit-image data.lfw_subset(): its {NUM_FACES} faces (LFW, grey 25x25), "
        f"bicubic to {IMAGE_SIZE}x{IMAGE_SIZE} RGB",
        "image_size": IMAGE_SIZE,
        "batch_size": BATCH_SIZE,
        "steps_per_epoch": NUM_FACES // BATCH_SIZE,
        "discriminator": "DCGAN, new in both runs",
        "discriminator_learning_rate": rate,
        "generator_learning_rate": {
            "pretrained": rate * PRETRAINED_GENERATOR_RATE_SCALE,
            "scratch": rate,
        },
        "augment": {
            "pretrained": list(PRETRAINED_AUGMENT_POLICY),
            "scratch": list(AUGMENT_POLICIES["dcgan"]),
        },
        "generators": {
            "pretrained": "bundled:dcgan_faces (PyTorch DCGAN tutorial, DigiFace-1M)",
            "scratch": "apps.gan.networks.build_generator (the app's DCGAN)",
        },
        "seed": SEED,
        "budget_minutes": args.budget_minutes,
        "fid_every_epochs": args.fid_every,
        "fid_samples": f"{NUM_FACES} generated vs the {NUM_FACES} real faces",
        "fid_latents": "fixed per epoch (seed 9999 + epoch), the same for both runs",
    }


def report(payload, path):
    """Print the table of both runs and the comparison."""
    rows = [
        [
            start,
            result["epochs"],
            result["steps"],
            f"{result['seconds_per_step'] * 1000:.0f}",
            f"{result['train_seconds']:.0f}",
            f"{result['first_fid']:.1f}",
            f"{result['final_fid']:.1f}",
            f"{result['best_fid']:.1f}",
            f"{result['others_cpu_fraction'] or 0:.0%}",
        ]
        for start, result in payload["runs"].items()
    ]
    headers = ["start", "epochs", "steps", "ms/step", "train s", "first FID", "final FID"]
    common.print_table(headers + ["best FID", "others"], rows)
    comparison = payload["comparison"]
    pretrained_time = comparison["pretrained_time_to_target_s"]
    when = "never" if pretrained_time is None else f"{pretrained_time:.0f} s"
    speedup = comparison["speedup"]
    ratio = (
        "at its start"
        if comparison["reached_at_start"]
        else "n/a"
        if speedup is None
        else f"{speedup:.1f}x sooner"
    )
    print(
        f"target (scratch's final FID) {comparison['target_fid']:.1f}: scratch first at "
        f"{comparison['scratch_first_time_at_target_s']:.0f} s, pretrained at {when} ({ratio}; "
        f"goal >= {GOAL_SPEEDUP:g}x: {'met' if comparison['meets_goal'] else 'NOT met'}); "
        f"real-vs-real FID {payload['real_vs_real']['fid']:.1f}; "
        f"{payload['total_seconds'] / 60:.1f} min; written to {path}"
    )


def main(argv=None):
    """Run both budgeted trainings, write the JSON and the grids, print a table."""
    args = parse_args(argv)
    common.setup_environment()
    load_before = {"loadavg_1_5_15": os.getloadavg(), "busy_processes": busy_processes()}
    began = time.perf_counter()
    results, grids = {}, {}
    with tempfile.TemporaryDirectory(prefix="tz-gan-transfer-") as folder:
        data = write_faces(Path(folder) / "faces")
        runs_dir = str(Path(folder) / "runs")
        for start in STARTS:
            print(f"training from {start} for {args.budget_minutes:g} min ...", flush=True)
            results[start], grids[start] = train(start, args, data, runs_dir)
        floor = real_floor(data)
    payload = {
        "benchmark": NAME,
        "machine": common.machine_info(),
        "load": {
            "at_start": load_before,
            "others_cpu_fraction_per_run": {
                k: v["others_cpu_fraction"] for k, v in results.items()
            },
            "note": "others_cpu_fraction: CPU time of other processes during the run / "
            "(wall time x cores)",
        },
        "settings": settings(args),
        "runs": results,
        "real_vs_real": floor,
        "comparison": compare(results),
        "total_seconds": time.perf_counter() - began,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    path = common.write_results(NAME, payload, args.out_dir / f"{NAME}.json")
    for start, grid in grids.items():
        save_grid(grid, args.out_dir / f"{NAME}_{start}.png")
    report(payload, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
