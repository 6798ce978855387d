"""Memory against dataset size: peak RSS of a fine-tune on 5,000 and on 50,000 small images.

``python -m bench.memory_scale [--sizes 5000 50000] [--image-size 96] [--checkout DIR]``
writes Fashion-MNIST training images (28×28, grey, as RGB PNGs in class folders), then runs
``python -m apps.image_classify.finetune --mode feature_extract`` on each folder in a fresh
process and samples that process' resident set every 0.2 s. The images are decoded at
``--image-size`` (96 px: 27 KB each) onto disk (``shared.row_store``), the backbone's
features go to a file beside the run, and training reads both a batch at a time, so the peak
should not follow the dataset (goal: 50,000 within 25 % of 5,000). ``--checkout`` runs the
same command from another checkout of the project (e.g. an older commit, for a before/after).
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import common
from bench.cold_start_browser import PeakMemory

NAME = "memory_scale"
ROOT = Path(__file__).resolve().parent.parent


def write_images(folder, count):
    """The first ``count`` Fashion-MNIST training images as PNGs, one folder per class."""
    from PIL import Image

    images, labels = common.load_fashion_mnist("train")
    for index in range(count):
        name = common.FASHION_MNIST_CLASSES[labels[index]].replace("/", "-").replace(" ", "_")
        target = Path(folder) / name
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[index]).convert("RGB").save(target / f"{index:05d}.png")
    return folder


def peak_rss(folder, image_size, checkout, runs_dir):
    """``(peak RSS in MB, seconds, exit status)`` of one feature-extraction fine-tune."""
    command = [
        sys.executable,
        *("-m", "apps.image_classify.finetune", "--data", str(folder)),
        *("--mode", "feature_extract", "--epochs", "1", "--image-size", str(image_size)),
        *("--no-tensorboard", "--runs-dir", str(runs_dir)),
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=checkout, stdout=subprocess.DEVNULL)
    sampler = PeakMemory(process.pid)
    sampler.start()
    status = process.wait()
    sampler.running = False
    sampler.join()
    return sampler.peak / 2**20, time.perf_counter() - start, status


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.memory_scale")
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--checkout", default=str(ROOT), help="the project checkout to run")
    parser.add_argument("--out", default=None, help="JSON file to write (default: results/)")
    args = parser.parse_args(argv)
    common.setup_environment()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as workdir:
        for size in args.sizes:
            folder = write_images(Path(workdir) / f"fashion{size}", size)
            runs_dir = Path(workdir) / f"runs{size}"
            mb, seconds, status = peak_rss(folder, args.image_size, args.checkout, runs_dir)
            in_memory_mb = size * args.image_size**2 * 3 / 2**20
            rows.append(
                {"images": size, "peak_rss_mb": round(mb, 1), "seconds": round(seconds, 1),
                 "exit_status": status, "decoded_images_mb": round(in_memory_mb, 1)}
            )  # fmt: skip
            print(f"{size:>6} images: peak RSS {mb:,.0f} MB in {seconds:.0f} s "
                  f"(decoded images {in_memory_mb:,.0f} MB; exit {status})")  # fmt: skip
    ratio = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
    payload = {
        "benchmark": NAME,
        "machine": common.machine_info(),
        "image_size": args.image_size,
        "checkout": args.checkout,
        "rows": rows,
        "largest_over_smallest": round(ratio, 3),
        "goal": "the largest within 25 % of the smallest",
    }
    print(f"{rows[-1]['images']} / {rows[0]['images']} images: peak RSS ×{ratio:.2f}")
    print(f"written to {common.write_results(NAME, payload, args.out)}")
    return 0 if all(row["exit_status"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
