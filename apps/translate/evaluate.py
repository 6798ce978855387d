"""BLEU and chrF (sacrebleu) of a translation model on a parallel corpus; the evaluate CLI."""

import argparse
import sys
import time

from apps.translate.data import load_pairs
from apps.translate.model import load_translator
from shared.cli import print_report


def corpus_scores(hypotheses, references):
    """{"bleu", "chrf"} of ``hypotheses`` against one reference each (sacrebleu defaults)."""
    import sacrebleu

    if len(hypotheses) != len(references) or not references:
        raise ValueError(
            f"need as many hypotheses as references, received {len(hypotheses)} and "
            f"{len(references)}"
        )
    bleu = sacrebleu.corpus_bleu(hypotheses, [references])
    chrf = sacrebleu.corpus_chrf(hypotheses, [references])
    return {"bleu": round(bleu.score, 2), "chrf": round(chrf.score, 2)}


def score_translator(loaded, pairs, beam_size=1):
    """Translate the sources of ``pairs`` with a loaded model and score them."""
    start = time.perf_counter()
    found = loaded.translate_sentences([source for source, _ in pairs], beam_size)
    hypotheses = [candidates[0].text for candidates in found]
    scores = corpus_scores(hypotheses, [target for _, target in pairs])
    seconds = time.perf_counter() - start
    return scores | {
        "num_pairs": len(pairs),
        "sentences_per_second": round(len(pairs) / seconds, 2),
    }


def _describe(report):
    return (
        f"{report['model']}: BLEU {report['bleu']:.2f}, chrF {report['chrf']:.2f} on "
        f"{report['num_pairs']} pairs ({report['sentences_per_second']:.1f} sentences/s)"
    )


def main(argv=None):
    """``python -m apps.translate.evaluate --model REF --data PAIRS [--json]``."""
    parser = argparse.ArgumentParser(prog="python -m apps.translate.evaluate")
    parser.add_argument("--model", default=None, help="model reference")
    parser.add_argument("--data", required=True, help=".tsv/.csv pairs, tfds:NAME, bible:SRC-TGT")
    parser.add_argument("--max-pairs", type=int, default=500, help="score at most N pairs")
    parser.add_argument("--beam-size", type=int, default=1, help="1 = greedy")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--runs-dir", default=None, help="runs registry root")
    args = parser.parse_args(argv)

    def compute():
        pairs = load_pairs(args.data, limit=args.max_pairs)
        loaded = load_translator(args.model, runs_dir=args.runs_dir)
        return {"model": loaded.ref} | score_translator(loaded, pairs, args.beam_size)

    return print_report(compute, as_json=args.json, describe=_describe)


if __name__ == "__main__":
    sys.exit(main())
