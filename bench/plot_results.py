"""Draw the README figure from bench/results/transfer_fashion_mnist.json."""

import json
from pathlib import Path

RESULTS = Path(__file__).with_name("results")


def main():
    """Write ``bench/results/transfer_fashion_mnist.png``: epochs finished over wall time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
