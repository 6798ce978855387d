"""BLEU and chrF (sacrebleu) of a translation model on a parallel corpus; the evaluate CLI."""

import sys
import time

from apps.translate.config import EvaluateConfig
from apps.translate.data import load_pairs
from apps.translate.model import load_translator
from shared.cli import parse_command, print_report


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
    """``python -m apps.translate.evaluate --model REF --data PAIRS [--json]``; the flags
    (or a ``--config`` file) are ``EvaluateConfig``'s."""
    config = parse_command(EvaluateConfig, argv, prog="python -m apps.translate.evaluate")

    def compute():
        pairs = load_pairs(config.data, limit=config.max_pairs)
        loaded = load_translator(config.model, runs_dir=config.runs_dir)
        return {"model": loaded.ref} | score_translator(loaded, pairs, config.beam_size)

    return print_report(compute, as_json=config.json, describe=_describe)


if __name__ == "__main__":
    sys.exit(main())
