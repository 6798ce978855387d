"""Cold start: from process start to the first prediction served, every app's default model.

``python -m bench.cold_start [--quick] [--cache warm|fresh] [--repeats N] [--sequential]
[--out FILE]`` writes ``bench/results/cold_start.json`` (or FILE).

Each measurement is a new Python process that imports the apps and loads the default model
of every app that predicts from an input (the GAN generates from a trained run, so it is
left out), all together in one thread per app as a server's first users would, then
serves one prediction each on a real input (scikit-image's cat, a speech clip from
``pocketsphinx-testdata`` or a tone, an English sentence). Times count from the process'
creation (``psutil``), imports included. ``--cache warm`` (the default) first converts the
bundled weights once in an untimed run, as a deployed server has them; ``--cache fresh``
starts every run from an empty cache, conversions included. Peak memory is the process'
peak resident set (``ru_maxrss``). Goal: all apps ready in <= 20 s with <= 4 GB.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import common

NAME = "cold_start"
GOAL_SECONDS = 20.0
GOAL_PEAK_GB = 4.0
CARDS_CLIP = Path("/usr/share/pocketsphinx/test/data/cards/001.wav")
ROOT = Path(__file__).resolve().parent.parent


def _process_start():
    """When this process was created (epoch seconds); now, when psutil is missing."""
    try:
        import psutil

        return psutil.Process().create_time()
    except ImportError:
        return time.time()


def sample_input(modality):
    """A real input per modality."""
    import numpy as np

    if modality == "image":
        import skimage.data

        return skimage.data.chelsea()
    if modality == "audio":
        from shared.audio import decode_audio

        if CARDS_CLIP.exists():
            return decode_audio(CARDS_CLIP)
        return (0.3 * np.sin(2 * np.pi * 440 * np.arange(32000) / 16000)).astype("float32")
    return "The museum opens at nine in the morning."


def serve_first(spec, started):
    """Load ``spec``'s default model and serve one prediction; timings from ``started``."""
    import importlib

    predictor_cls = importlib.import_module(f"apps.{spec.name}.predict").Predictor
    value = sample_input(spec.modality)
    begin = time.time()
    predictor = predictor_cls.load(spec.default_model)
    loaded = time.time()
    result = predictor.predict(value)
    served = time.time()
    return {
        "model": spec.default_model,
        "load_s": round(loaded - begin, 2),
        "predict_ms": round((served - loaded) * 1000, 1),
        "ready_s": round(served - started, 2),
        "output": str(getattr(result, "text", None) or getattr(result, "translation", None) or "")
        or _short(result),
    }


def _short(result):
    if hasattr(result, "predictions"):
        return result.predictions[0].label
    if hasattr(result, "detections"):
        return f"{len(result.detections)} detections"
    return type(result).__name__


def child(sequential):
    """One timed start: print a JSON line with per-app and total timings, and peak RSS."""
    started = _process_start()
    from apps import APPS

    specs = [spec for spec in APPS if spec.modality != "latent"]
    imported = time.time() - started
    if sequential:
        results = [serve_first(spec, started) for spec in specs]
    else:
        with ThreadPoolExecutor(len(specs)) as pool:
            results = list(pool.map(lambda spec: serve_first(spec, started), specs))
    total = time.time() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(
        json.dumps(
            {
                "apps": {spec.name: result for spec, result in zip(specs, results)},
                "skipped": {s.name: "generates from a trained run" for s in APPS if s not in specs},
                "imports_s": round(imported, 2),
                "total_s": round(total, 2),
                "peak_rss_mb": round(peak_kb / 1024, 1),
            }
        )
    )


def run_child(cache_dir, sequential):
    """Start one measuring process; its parsed JSON line."""
    env = os.environ | {"TRANSFERZOO_CACHE": str(cache_dir)}
    command = [sys.executable, "-m", "bench.cold_start", "--child"]
    command += ["--sequential"] if sequential else []
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"measuring process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(args):
    """The timed runs, per ``args.cache``."""
    runs = []
    if args.cache == "warm":
        cache_dir = os.environ["TRANSFERZOO_CACHE"]
        print(f"converting the bundled weights once into {cache_dir} (untimed)…")
        run_child(cache_dir, args.sequential)
    for index in range(args.repeats):
        if args.cache == "fresh":
            with tempfile.TemporaryDirectory(prefix="tz-cold-") as cache_dir:
                runs.append(run_child(cache_dir, args.sequential))
        else:
            runs.append(run_child(os.environ["TRANSFERZOO_CACHE"], args.sequential))
        print(f"run {index + 1}: {runs[-1]['total_s']} s, {runs[-1]['peak_rss_mb']} MB")
    return runs


def report(runs, args):
    """Write the JSON results and print a table and the goal check."""
    total = statistics.median(run["total_s"] for run in runs)
    peak_gb = max(run["peak_rss_mb"] for run in runs) / 1024
    payload = {
        "benchmark": NAME,
        "machine": common.machine_info(),
        "settings": {"cache": args.cache, "repeats": args.repeats, "sequential": args.sequential},
        "runs": runs,
        "median_total_s": total,
        "max_peak_rss_gb": round(peak_gb, 2),
        "goal": {"total_s": GOAL_SECONDS, "peak_rss_gb": GOAL_PEAK_GB},
        "goal_met": total <= GOAL_SECONDS and peak_gb <= GOAL_PEAK_GB,
    }
    path = common.write_results(NAME, payload, args.out)
    rows = [
        (name, app["model"], app["load_s"], app["ready_s"]) for name, app in runs[0]["apps"].items()
    ]
    common.print_table(("app", "model", "load (s)", "ready (s)"), rows)
    print(
        f"median total {total:.1f} s (goal {GOAL_SECONDS:.0f}), peak {peak_gb:.2f} GB "
        f"(goal {GOAL_PEAK_GB:.0f}); goal met: {payload['goal_met']}; wrote {path}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__)
    parser.add_argument("--cache", choices=("warm", "fresh"), default="warm")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sequential", action="store_true", help="load one app after another")
    parser.add_argument("--quick", action="store_true", help="one run (a smoke test)")
    parser.add_argument("--out", default=None, help="JSON path (default: bench/results/)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    common.setup_environment()
    if args.child:
        return child(args.sequential)
    if args.quick:
        args.repeats = 1
    report(measure(args), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
