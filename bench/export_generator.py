"""Export table of the pretrained DCGAN face generator: fidelity per format to the Keras model.

``python -m bench.export_generator`` exports ``bundled:dcgan_faces`` (3.58 M parameters,
64×64 RGB faces) into a scratch GAN run in every format (SavedModel, TFLite float32 / float16
/ int8, ONNX), loads each back in its own runtime and reports size, PSNR of its images against
the Keras generator's for the same 256 latent vectors, the largest pixel difference and ms
per image: the table a GAN run's export keeps in ``export/report.json``.
"""

import argparse
import sys
import tempfile
import time

from apps.gan.export import export_generator
from apps.gan.model import load_generator
from bench import common
from shared import runs
from shared.export import FORMATS
from shared.export_check import format_report

NAME = "export_generator"
MODEL = "bundled:dcgan_faces"
SEED = 0


def main(argv=None):
    """Export, check; write ``bench/results/export_generator.json`` and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.export_generator")
    parser.add_argument("--out", default=None, help="JSON file to write (default: results/)")
    args = parser.parse_args(argv)
    common.setup_environment()
    generator, ref = load_generator(MODEL)
    with tempfile.TemporaryDirectory(prefix="bench-export-gan-") as workdir:
        run = runs.new_run("gan", {"model": ref, "seed": SEED}, runs_dir=workdir)
        start = time.perf_counter()
        report = export_generator(run, generator, tuple(FORMATS), SEED)
        wall = time.perf_counter() - start
    payload = {
        "benchmark": NAME,
        "machine": common.machine_info(),
        "model": ref,
        "parameters": int(generator.count_params()),
        "report": report,
        "psnr_db_per_format": {row["format"]: row.get("psnr_db") for row in report["exports"]},
        "export_and_check_wall_s": wall,
    }
    path = common.write_results(NAME, payload, args.out)
    print(f"{ref}: {payload['parameters']:,} parameters, exported and checked in {wall:.0f} s")
    print(format_report(report))
    print(f"written to {path}")
    return 1 if any(row["status"] == "failed" for row in report["exports"]) else 0


if __name__ == "__main__":
    sys.exit(main())
