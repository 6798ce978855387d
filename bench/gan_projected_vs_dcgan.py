"""Projected GAN vs DCGAN on Fashion-MNIST: FID over training wall time, same CPU, same budget.

``python -m bench.gan_projected_vs_dcgan [--quick] [--budget-minutes M] [--max-images N]
[--out-dir DIR]`` trains the GAN app's two architectures one after the other, in one process,
through ``shared.lifecycle.run_training`` with ``apps.gan.train``, with the same data and
settings (Fashion-MNIST train split, a seeded subset of ``--max-images`` images at 32x32,
batch 64, DiffAugment, seed 0), each with its app defaults (learning rate, generator;
``apps.gan.model``), and the same wall-time budget each. The app's ``FidCurve`` callback
records FID and KID (bundled EfficientNet-Lite0 ImageNet features at 128x128, a fixed number
of generated and real images) every ``fid_every`` epochs against the clock of training alone
(FID measurements excluded).

From the two curves: DCGAN's final FID (the target); the first training time at which each
architecture's FID is at or below it (linear interpolation between measurements); the
speed-up = DCGAN's time / the Projected GAN's time. Goal (issue): >= 5x. Writes
``gan_projected_vs_dcgan.json`` and ``.png`` (FID over time) and each run's final 64-sample
grid, ``gan_samples_<architecture>.png``, to ``--out-dir`` (default ``bench/results``; give
another folder for trial runs, so that they do not replace the published results).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import common
from bench.machine_load import LoadMeter, busy_processes, wait_for_competitor
from bench.plot_results import plot_gan_fid

NAME = "gan_projected_vs_dcgan"
ARCHITECTURES = ("dcgan", "projected")
GOAL_SPEEDUP = 5.0
EPOCHS = 100_000  # never reached: the time budget stops training
IMAGE_SIZE = 32
BATCH_SIZE = 64
SEED = 0
GRID_SAMPLES = 64
GRID_SCALE = 3  # the 32 px samples are enlarged (nearest neighbour) so the grid is readable
COMPETITOR = "bench.detector_learning"


def first_time_at_or_below(curve, target):
    """First training time (s) at which the FID curve reaches ``target``, interpolating
    linearly between the measurements around the crossing; None if it never does."""
    previous = None
    for point in curve:
        time_s, fid = point["train_seconds"], point["fid"]
        if fid <= target:
            if previous is None:
                return time_s
            time_0, fid_0 = previous
            return time_0 + (fid_0 - target) / (fid_0 - fid) * (time_s - time_0)
        previous = time_s, fid
    return None


def train(architecture, args, runs_dir):
    """One budgeted run; returns its figures and the run's final sample grid (uint8)."""
    from apps.gan import train as gan_train
    from apps.gan.config import FinetuneConfig
    from apps.gan.predictor import Predictor, image_grid
    from shared.lifecycle import run_training

    config = FinetuneConfig(
        data="fashion-mnist",
        architecture=architecture,
        image_size=IMAGE_SIZE,
        epochs=EPOCHS,
        batch_size=BATCH_SIZE,
        max_images=args.max_images,
        fid_every=args.fid_every[architecture],
        fid_samples=args.fid_samples,
        time_budget_minutes=args.budget_minutes,
        seed=SEED,
        runs_dir=runs_dir,
    )
    meter = LoadMeter()
    wall_s, run = common.timed(run_training, "gan", config, gan_train, verbose=0)
    others = meter.others_fraction()
    metrics = run.metrics
    curve = metrics["curve"]
    epochs = curve[-1]["epoch"]
    steps = epochs * (metrics["num_images"] // BATCH_SIZE)
    samples = Predictor.load(run.ref, runs_dir=runs_dir).predict(GRID_SAMPLES, seed=SEED)
    history = run.history.get("gan", {})
    result = {
        "architecture": architecture,
        "fid_every_epochs": config.fid_every,
        "epochs": epochs,
        "steps": steps,
        "train_seconds": curve[-1]["train_seconds"],
        "seconds_per_step": curve[-1]["train_seconds"] / steps,
        "images_per_second": steps * BATCH_SIZE / curve[-1]["train_seconds"],
        "wall_seconds_incl_fid_and_setup": wall_s,
        "others_cpu_fraction": others,
        "final_fid": curve[-1]["fid"],
        "final_kid": curve[-1]["kid"],
        "final_kid_std": curve[-1]["kid_std"],
        "best_fid": min(point["fid"] for point in curve),
        "feature_network": metrics["feature_network"],
        "num_images": metrics["num_images"],
        "final_d_loss": history.get("d_loss", [None])[-1],
        "final_g_loss": history.get("g_loss", [None])[-1],
        "curve": curve,
    }
    return result, image_grid(samples.images)


def real_floor(args):
    """FID/KID between two disjoint real sets of ``fid_samples`` images (the floor that this
    sample count allows): the runs' real set (train subset) vs the same number of test images."""
    from apps.gan.data import load_images
    from apps.gan.metrics import compute_fid_kid, get_feature_extractor

    train = load_images("fashion-mnist", IMAGE_SIZE, max_images=args.max_images, seed=SEED)
    test = load_images("fashion-mnist:test", IMAGE_SIZE, max_images=args.fid_samples, seed=SEED)
    scores = compute_fid_kid(train[: args.fid_samples], test, get_feature_extractor())
    return {key: scores[key] for key in ("fid", "kid", "kid_std", "num_real", "num_fake")}


def compare(results):
    """Target = DCGAN's final FID; when each architecture first reaches it; the speed-up."""
    dcgan, projected = results["dcgan"], results["projected"]
    target = dcgan["final_fid"]
    dcgan_first = first_time_at_or_below(dcgan["curve"], target)
    dcgan_last = dcgan["curve"][-1]["train_seconds"]
    projected_time = first_time_at_or_below(projected["curve"], target)
    speedup = dcgan_first / projected_time if projected_time else None
    best_target = dcgan["best_fid"]
    projected_best_time = first_time_at_or_below(projected["curve"], best_target)
    return {
        "target_fid": target,
        "dcgan_first_time_at_target_s": dcgan_first,
        "dcgan_final_time_s": dcgan_last,
        "projected_time_to_target_s": projected_time,
        "speedup": speedup,
        "speedup_vs_dcgan_final_time": dcgan_last / projected_time if projected_time else None,
        "dcgan_best_fid": best_target,
        "dcgan_time_to_best_s": first_time_at_or_below(dcgan["curve"], best_target),
        "projected_time_to_dcgan_best_s": projected_best_time,
        "fid_ratio_final_dcgan_over_projected": target / projected["final_fid"],
        "goal_speedup": GOAL_SPEEDUP,
        "meets_goal": bool(speedup is not None and speedup >= GOAL_SPEEDUP),
    }


def save_grid(grid, path):
    from PIL import Image

    image = Image.fromarray(grid)
    image.resize((grid.shape[1] * GRID_SCALE, grid.shape[0] * GRID_SCALE), Image.NEAREST).save(path)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=f"python -m bench.{NAME}")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 min each, 2000 images, 256 samples"
    )
    parser.add_argument("--budget-minutes", type=float, help="training wall time per run (6)")
    parser.add_argument("--max-images", type=int, help="training images (5000)")
    parser.add_argument("--fid-samples", type=int, help="generated/real images per FID (1000)")
    parser.add_argument("--fid-every-dcgan", type=int, help="epochs between DCGAN FIDs (1)")
    parser.add_argument("--fid-every-projected", type=int, help="same, Projected GAN (1)")
    parser.add_argument("--out-dir", type=Path, default=common.RESULTS_DIR, help="where results go")
    parser.add_argument(
        "--wait-minutes",
        type=float,
        default=15.0,
        help=f"wait at most this long for a running {COMPETITOR} to finish first",
    )
    args = parser.parse_args(argv)
    defaults = (
        dict(budget_minutes=1.0, max_images=2000, fid_samples=256, dcgan=2, projected=1)
        if args.quick
        else dict(budget_minutes=6.0, max_images=5000, fid_samples=1000, dcgan=1, projected=1)
    )
    for name in ("budget_minutes", "max_images", "fid_samples"):
        if getattr(args, name) is None:
            setattr(args, name, defaults[name])
    args.fid_every = {
        "dcgan": args.fid_every_dcgan or defaults["dcgan"],
        "projected": args.fid_every_projected or defaults["projected"],
    }
    return args


def settings(args, results):
    """The settings both runs shared, and each architecture's own recipe."""
    from apps.gan.model import AUGMENT_POLICIES, GENERATORS, LEARNING_RATES
    from apps.gan.networks import MIN_FEATURE_SIZE

    return {
        "quick": args.quick,
        "data": "fashion-mnist (train split, seeded subset)",
        "images_used": results["dcgan"]["num_images"],
        "image_size": IMAGE_SIZE,
        "batch_size": BATCH_SIZE,
        "learning_rate": dict(LEARNING_RATES),
        "generator": {name: build.__name__ for name, build in GENERATORS.items()},
        "augment": {name: list(policy) for name, policy in AUGMENT_POLICIES.items()},
        "seed": SEED,
        "budget_minutes": args.budget_minutes,
        "projected_feature_network": "bundled:efficientnet_lite0 (frozen, 4 stages, "
        "random CCM + CSM, a discriminator per stage plus one on the pixels)",
        "projected_feature_size": max(IMAGE_SIZE, MIN_FEATURE_SIZE),
        "fid_samples": args.fid_samples,
        "fid_real_images": f"the first {args.fid_samples} of the training images",
        "fid_feature_network": results["dcgan"]["feature_network"],
        "fid_feature_size": 128,
        "fid_every_epochs": args.fid_every,
        "fid_latents": "fixed per epoch (seed 10000 + epoch), same for both",
        "grid_samples": GRID_SAMPLES,
        "grid_scale": GRID_SCALE,
    }


def write(payload, grids, out_dir):
    """The JSON, the FID plot and the sample grids under ``out_dir``; returns the JSON path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = common.write_results(NAME, payload, out_dir / f"{NAME}.json")
    plot_gan_fid(payload, out_dir / f"{NAME}.png")
    for architecture, grid in grids.items():
        save_grid(grid, out_dir / f"gan_samples_{architecture}.png")
    return path


def report(payload, path):
    """Print the table of both runs and the comparison."""
    settings, machine, results = payload["settings"], payload["machine"], payload["runs"]
    print(
        f"Fashion-MNIST {IMAGE_SIZE} px, {settings['images_used']} images, "
        f"{settings['budget_minutes']:g} min each on {machine['cpu_count']} CPU cores "
        f"({machine['cpu_model']}); FID on {settings['fid_samples']} samples"
    )
    rows = [
        [
            architecture,
            result["epochs"],
            result["steps"],
            f"{result['seconds_per_step'] * 1000:.0f}",
            f"{result['train_seconds']:.0f}",
            f"{result['final_fid']:.2f}",
            f"{result['best_fid']:.2f}",
            f"{result['final_kid']:.4f}",
            f"{result['others_cpu_fraction'] or 0:.0%}",
        ]
        for architecture, result in results.items()
    ]
    common.print_table(
        ["arch", "epochs", "steps", "ms/step", "train s", "final FID", "best FID", "KID", "others"],
        rows,
    )
    comparison, speedup = payload["comparison"], payload["comparison"]["speedup"]

    def seconds(value):
        return "never" if value is None else f"{value:.0f} s"

    print(
        f"target (DCGAN's final FID) {comparison['target_fid']:.2f}: DCGAN first at "
        f"{seconds(comparison['dcgan_first_time_at_target_s'])}, Projected GAN at "
        f"{seconds(comparison['projected_time_to_target_s'])}; speed-up "
        f"{'n/a' if speedup is None else f'{speedup:.1f}x'} (goal >= {GOAL_SPEEDUP:g}x: "
        f"{'met' if comparison['meets_goal'] else 'NOT met'}); real-vs-real FID "
        f"{payload['real_vs_real']['fid']:.2f}; otherwise idle: "
        f"{payload['load']['machine_otherwise_idle']}; {payload['total_seconds'] / 60:.1f} min; "
        f"written to {path}"
    )


def main(argv=None):
    """Run both budgeted trainings, write the JSON, the plot and the grids, print a table."""
    args = parse_args(argv)
    common.setup_environment()
    waited = wait_for_competitor(COMPETITOR, args.wait_minutes)
    load_before = {"loadavg_1_5_15": os.getloadavg(), "busy_processes": busy_processes()}
    began = time.perf_counter()
    results, grids = {}, {}
    with tempfile.TemporaryDirectory(prefix="tz-gan-bench-") as runs_dir:
        for architecture in ARCHITECTURES:
            print(f"training {architecture} for {args.budget_minutes:g} min ...", flush=True)
            results[architecture], grids[architecture] = train(architecture, args, runs_dir)
    floor = real_floor(args)
    others = [result["others_cpu_fraction"] for result in results.values()]
    idle = not waited["still_running"] and all(
        fraction is not None and fraction < 0.1 for fraction in others
    )
    payload = {
        "benchmark": NAME,
        "machine": common.machine_info(),
        "load": {
            "waited_for_competitor": waited,
            "at_start": load_before,
            "others_cpu_fraction_per_run": dict(zip(results, others)),
            "machine_otherwise_idle": idle,
            "note": "others_cpu_fraction: CPU time of other processes during the run / "
            "(wall time x cores); 'otherwise idle' means < 0.1 in both runs",
        },
        "settings": settings(args, results),
        "runs": results,
        "real_vs_real": floor,
        "comparison": compare(results),
        "total_seconds": time.perf_counter() - began,
    }
    report(payload, write(payload, grids, args.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
