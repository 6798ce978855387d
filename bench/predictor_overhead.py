"""Predictor overhead: ``Predictor.predict`` vs a raw ``model.predict_on_batch``.

``python -m bench.predictor_overhead [--quick] [--model REF]`` times, at batch 1 and batch 32,
(a) ``predictor.predict(list_of_uint8_images, top_k=5)`` with images already at the model's
input size (as the CLI has them after decoding, so no resize) and (b) the raw Keras call
``model.predict_on_batch(float32_batch)`` of the same model (keras-hub applies its
preprocessor inside). Calls are interleaved (a, b, a, b, ...) so drift hits both alike.
Goal: the Predictor costs at most 10 % more than the raw call.
"""

import argparse
import sys

import numpy as np

from bench import common

NAME = "predictor_overhead"
DEFAULT_MODEL = "bundled:efficientnet_lite0"
GOAL_OVERHEAD = 0.10
SAMPLE_IMAGES = ("chelsea", "coffee", "astronaut", "rocket", "immunohistochemistry", "retina")


def sample_images(size, count):
    """``count`` real RGB photos from scikit-image, resized to ``size`` squares (uint8)."""
    import skimage.data
    from PIL import Image

    photos = []
    for name in SAMPLE_IMAGES:
        image = np.asarray(getattr(skimage.data, name)())
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=-1)
        photos.append(image[..., :3])
    resized = [
        np.asarray(Image.fromarray(photo).resize((size, size), Image.BILINEAR)) for photo in photos
    ]
    return [resized[index % len(resized)] for index in range(count)]


def measure(predictor, images, warmup, repeats):
    """Interleaved timings of the Predictor path and the raw Keras call on one batch."""
    batch = np.stack(images).astype("float32")
    model = predictor.task

    def run_predictor():
        return predictor.predict(images, top_k=5)

    def run_raw():
        return model.predict_on_batch(batch)

    for _ in range(warmup):
        run_predictor()
        run_raw()
    predictor_times, raw_times = [], []
    for _ in range(repeats):
        predictor_times.append(common.timed(run_predictor)[0])
        raw_times.append(common.timed(run_raw)[0])
    predictor_summary = common.summarize(predictor_times, len(images))
    raw_summary = common.summarize(raw_times, len(images))
    return {
        "batch_size": len(images),
        "predictor": predictor_summary | {"times_s": predictor_times},
        "raw": raw_summary | {"times_s": raw_times},
        "overhead": predictor_summary["median_s"] / raw_summary["median_s"] - 1,
    }


def check_agreement(predictor, images):
    """The Predictor's top class equals the raw call's argmax (same model, same inputs)."""
    raw = np.asarray(predictor.task.predict_on_batch(np.stack(images).astype("float32")))
    ours = predictor.predict(images, top_k=1)
    top = [result.predictions[0] for result in ours]
    return {
        "same_top1": bool(all(p.index == i for p, i in zip(top, raw.argmax(-1)))),
        "top1_labels": [p.label for p in top[: len(SAMPLE_IMAGES)]],
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.predictor_overhead")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model reference")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the benchmark, write ``bench/results/predictor_overhead.json``, print a table."""
    args = parse_args(argv)
    common.setup_environment()
    from apps.image_classify.predictor import Predictor

    settings = {
        "model": args.model,
        "quick": args.quick,
        "warmup_calls": 3,
        "repeats": {1: 5, 32: 2} if args.quick else {1: 30, 32: 10},
        "top_k": 5,
        "images": list(SAMPLE_IMAGES),
    }
    load_seconds, predictor = common.timed(Predictor.load, args.model)
    size = predictor.image_size[0]
    settings["image_size"] = size
    results = {}
    for batch_size, repeats in settings["repeats"].items():
        images = sample_images(size, batch_size)
        results[f"batch_{batch_size}"] = measure(
            predictor, images, settings["warmup_calls"], repeats
        )
    agreement = check_agreement(predictor, sample_images(size, len(SAMPLE_IMAGES)))
    machine = common.machine_info()
    payload = {
        "benchmark": NAME,
        "machine": machine,
        "settings": settings | {"repeats": {str(k): v for k, v in settings["repeats"].items()}},
        "load_seconds": load_seconds,
        "results": results,
        "agreement": agreement,
        "goal_overhead": GOAL_OVERHEAD,
        "meets_goal": all(r["overhead"] <= GOAL_OVERHEAD for r in results.values()),
    }
    path = common.write_results(NAME, payload)
    print(
        f"{args.model} at {size}x{size} on {machine['cpu_count']} CPU cores "
        f"({machine['cpu_model']})"
    )
    rows = []
    for result in results.values():
        ours, raw = result["predictor"], result["raw"]
        rows.append(
            [
                result["batch_size"],
                f"{ours['median_s'] * 1000:.1f}",
                f"{ours['images_per_s']:.1f}",
                f"{raw['median_s'] * 1000:.1f}",
                f"{raw['images_per_s']:.1f}",
                f"{result['overhead']:+.1%}",
            ]
        )
    common.print_table(
        ["batch", "Predictor ms", "Predictor img/s", "raw ms", "raw img/s", "overhead"], rows
    )
    print(
        f"goal <= {GOAL_OVERHEAD:.0%}: {'met' if payload['meets_goal'] else 'NOT met'}; "
        f"same top-1 as raw: {agreement['same_top1']}; written to {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
