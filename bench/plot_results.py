"""The benchmarks' result figures (matplotlib, no display needed), drawn from their payloads.

``python -m bench.plot_results`` redraws the README figure from
bench/results/transfer_fashion_mnist.json (``main``). ``plot_gan_fid`` (FID over training time,
``bench.gan_projected_vs_dcgan``) and ``plot_detector_learning`` (held-out mAP over training
time, ``bench.detector_learning``) are drawn by their benchmarks when they write their results.
"""

import json
from pathlib import Path

import numpy as np

from bench.detector_curve import saved_weights_epoch

RESULTS = Path(__file__).with_name("results")


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_gan_fid(payload, path):
    """FID (log scale) over training wall time for both runs, the target and the crossings."""
    plt = pyplot()
    colours = {"dcgan": "tab:blue", "projected": "tab:orange"}
    labels = {"dcgan": "DCGAN", "projected": "Projected GAN (frozen EfficientNet-Lite0)"}
    comparison = payload["comparison"]
    figure, axes = plt.subplots(figsize=(7.2, 4.4), dpi=110)
    for architecture, result in payload["runs"].items():
        curve = result["curve"]
        axes.plot(
            [point["train_seconds"] / 60 for point in curve],
            [point["fid"] for point in curve],
            marker="o",
            ms=3,
            color=colours[architecture],
            label=f"{labels[architecture]}: final FID {result['final_fid']:.1f}",
        )
    axes.axhline(
        comparison["target_fid"], color="grey", ls="--", lw=1, label="DCGAN's final FID (target)"
    )
    floor = payload["real_vs_real"]["fid"]
    axes.axhline(
        floor, color="green", ls=":", lw=1, label=f"real vs real test images ({floor:.1f})"
    )
    for key, architecture in (
        ("dcgan_first_time_at_target_s", "dcgan"),
        ("projected_time_to_target_s", "projected"),
    ):
        if comparison[key] is not None:
            axes.axvline(comparison[key] / 60, color=colours[architecture], ls=":", lw=1)
    axes.set_yscale("log")
    axes.set_xlabel(
        f"training wall time (min), {payload['machine']['cpu_count']} CPU cores, "
        "FID measurements excluded"
    )
    settings = payload["settings"]
    axes.set_ylabel(f"FID ({settings['fid_samples']} samples, EfficientNet-Lite0 features)")
    axes.grid(alpha=0.3, which="both")
    speedup = comparison["speedup"]
    result = f"speed-up to DCGAN's final FID: {speedup:.1f}x" if speedup else "target not reached"
    axes.set_title(
        f"Fashion-MNIST {settings['image_size']} px, {settings['images_used']} images, "
        f"{settings['budget_minutes']:g} min each: {result}",
        fontsize=10,
    )
    axes.legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def plot_detector_learning(payload, path):
    """Held-out mAP50 and mAP over training time, epochs on the top axis, loss on the right."""
    plt = pyplot()
    curve, losses = payload["curve"], payload["train_loss"]
    minutes = [point["train_s"] / 60 for point in curve]
    figure, axes = plt.subplots(figsize=(7.2, 4.2), dpi=110)
    axes.plot(minutes, [p["map50"] for p in curve], marker="o", ms=3, label="held-out mAP50")
    axes.plot(minutes, [p["map"] for p in curve], marker="s", ms=3, label="held-out mAP@[.5:.95]")
    axes.set_xlabel(
        f"training wall time (min), {payload['machine']['cpu_count']} CPU cores, "
        "held-out evaluations excluded"
    )
    axes.set_ylabel("held-out mAP")
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    loss_axes = axes.twinx()
    loss_axes.plot(
        [item["train_s"] / 60 for item in losses],
        [item["loss"] for item in losses],
        color="grey",
        alpha=0.6,
        lw=1,
        label="train loss (right)",
    )
    loss_axes.set_ylabel("train loss", color="grey")
    loss_axes.set_ylim(bottom=0)
    axes.set_xlim(0, max(minutes + [item["train_s"] / 60 for item in losses]) * 1.02)
    epoch_times = [0.0] + [item["train_s"] / 60 for item in losses]
    epochs = list(range(len(epoch_times)))
    top = axes.secondary_xaxis(
        "top",
        functions=(
            lambda t: np.interp(t, epoch_times, epochs),
            lambda e: np.interp(e, epochs, epoch_times),
        ),
    )
    top.set_xlabel("epochs")
    final, end = payload["final"], minutes[-1]
    label = f"saved run (weights of epoch {saved_weights_epoch(losses)})"
    axes.plot([end, end], [final["map50"], final["map"]], "k*", ms=9, ls="none", label=label)
    settings = payload["settings"]
    axes.set_title(
        f"CenterNet on EfficientNet-Lite0: {settings['train_scenes']} train / "
        f"{settings['held_out_scenes']} held-out scenes at {settings['image_size']} px",
        fontsize=10,
    )
    lines = axes.get_legend_handles_labels()
    extra = loss_axes.get_legend_handles_labels()
    axes.legend(lines[0] + extra[0], lines[1] + extra[1], loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main():
    """Write ``bench/results/transfer_fashion_mnist.png``: epochs finished over wall time."""
    plt = pyplot()
    data = json.loads((RESULTS / "transfer_fashion_mnist.json").read_text())
    figure, axes = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    names = {"ours": "TransferZoo (features cached)", "keras_io": "keras-io recipe (fit, frozen)"}
    for key, label in names.items():
        result = data["results"][key]
        ends = result["epoch_ends_s"]
        axes.plot(
            ends,
            range(1, len(ends) + 1),
            marker="o",
            label=f"{label}: test acc {result['test_accuracy']:.3f}",
        )
    settings = data["settings"]
    axes.set_xlabel("wall time (s), 2 CPU cores")
    axes.set_ylabel("epochs finished")
    axes.set_title(
        f"Fashion-MNIST, {settings['train']} images at {settings['image_size']}px, "
        f"EfficientNet-Lite0 frozen"
    )
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(RESULTS / "transfer_fashion_mnist.png")


if __name__ == "__main__":
    main()
