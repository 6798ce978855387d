"""Teach a sound classifier from a few recordings per class, in seconds.

The sound counterpart of ``apps.image_classify.teach``: each example clip (16 kHz, padded or
cut to ``clip_seconds``) becomes the frozen Whisper encoder's time-pooled features once, when
it is added; training fits only a new head on those cached features (the class-head model of
``train_classifier.build_parts``), so retraining after more examples takes a second or two.
``keep`` saves the result as an ordinary speech classifier run: the clips as a
class-per-folder dataset inside the run, the model as ``model.keras``, labels and held-out
accuracy, so ``Predictor.load("run:<id>")`` reloads it like any fine-tuned class head.
"""

import re
import time
from dataclasses import asdict

import numpy as np

from apps.speech.config import FinetuneConfig
from apps.speech.data import fit_length
from apps.speech.model import SAMPLE_RATE, audio_features, load_transcriber
from apps.speech.train_classifier import build_parts
from shared.audio import encode_wav
from shared.devices import compile_step
from shared.metrics import classification_report
from shared.numeric import softmax
from shared.runs import new_run
from shared.splits import split_indices

DEFAULT_MODEL = "bundled:whisper_tiny_en"
CLIP_SECONDS = 2
VALIDATION_SPLIT = 0.2
SEED = 42
EPOCHS = 60
LEARNING_RATE = 3e-3
CLASS_NAME = re.compile(r"^[\w][\w .-]{0,39}$")  # a safe folder name inside the run


def check_class_names(names):
    """The names, stripped; a clear error for fewer than two, duplicates or unsafe names."""
    names = [str(name).strip() for name in names]
    if len(names) < 2:
        raise ValueError("teach needs at least two classes")
    bad = [name for name in names if not CLASS_NAME.match(name)]
    if bad:
        raise ValueError(
            f"class names are 1-40 letters, digits, spaces, '.', '-' or '_'; received {bad}"
        )
    if len({name.lower() for name in names}) != len(names):
        raise ValueError(f"class names must differ: {names}")
    return names


class SoundTeacher:
    """Example clips in, a trained head out; ``predict`` on new clips once trained.

    Args:
        ref: the Whisper model whose encoder is frozen (default Whisper tiny.en).
        runs_dir: runs registry root (for ``run:`` references and ``keep``).
        clip_seconds: every clip is padded with silence or cut to this many seconds.
    """

    def __init__(self, ref=DEFAULT_MODEL, *, runs_dir=None, clip_seconds=CLIP_SECONDS):
        self.ref, self.runs_dir, self.clip_seconds = ref, runs_dir, int(clip_seconds)
        loaded = load_transcriber(ref, runs_dir=runs_dir)
        if not hasattr(loaded, "generator"):
            raise ValueError(f"{ref}: teaching sounds needs a Whisper model")
        self.backbone = loaded.generator.backbone
        extractor = build_parts(self.backbone, 2).feature_extractor
        self._features = compile_step(lambda batch: extractor(batch, training=False))
        self.examples = {}  # class name -> list of (clip, pooled encoder features)
        self.trained = None  # (parts, class names) once trained
        self.features([np.zeros(SAMPLE_RATE, "float32")])  # trace once

    @property
    def length(self):
        return self.clip_seconds * SAMPLE_RATE

    def features(self, clips):
        """Pooled encoder features of 16 kHz clips, (n, hidden) float32."""
        batch = np.stack([fit_length(np.asarray(clip, "float32"), self.length) for clip in clips])
        mels = audio_features(self.backbone.num_mels, self.clip_seconds, batch)
        return np.asarray(self._features(mels), "float32")

    def add(self, name, clip):
        """Add one example clip (16 kHz mono float) of class ``name``; returns how many that
        class now has."""
        clip = np.asarray(clip, "float32")
        if clip.ndim != 1 or clip.size == 0:
            raise ValueError("an example must be non-empty mono audio")
        clip = fit_length(clip, self.length)
        self.examples.setdefault(name, []).append((clip, self.features([clip])[0]))
        return len(self.examples[name])

    def remove_class(self, name):
        self.examples.pop(name, None)

    def counts(self):
        return {name: len(items) for name, items in self.examples.items()}

    def _dataset(self, names):
        features, labels = [], []
        for label, name in enumerate(names):
            for _, vector in self.examples.get(name, []):
                features.append(vector)
                labels.append(label)
        return np.stack(features), np.asarray(labels, "int32")

    def train(self, names, *, epochs=EPOCHS):
        """Fit a new head for ``names`` on the cached features; returns its metrics.

        A stratified ``VALIDATION_SPLIT`` of each class (when it has two examples or more) is
        held out and scores the head, which is trained on the rest.
        """
        import keras

        names = sorted(check_class_names(names))  # the order a class-per-folder run reloads
        empty = [name for name in names if not self.examples.get(name)]
        if empty:
            raise ValueError(f"add at least one example of {', '.join(empty)}")
        start = time.perf_counter()
        features, labels = self._dataset(names)
        train_index, held_out = split_indices(labels, VALIDATION_SPLIT, SEED)
        keras.utils.set_random_seed(SEED)
        parts = build_parts(self.backbone, len(names))
        parts.head.compile(
            optimizer=keras.optimizers.Adam(LEARNING_RATE),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        parts.head.fit(
            features[train_index],
            labels[train_index],
            epochs=epochs,
            batch_size=32,
            shuffle=True,
            verbose=0,
        )
        scored = held_out if len(held_out) else train_index
        predicted = np.argmax(parts.head.predict(features[scored], verbose=0), axis=-1)
        report = classification_report(labels[scored], predicted, names)
        self.trained = (parts, names)
        return {
            "accuracy": float(report["accuracy"]),
            "held_out": int(len(held_out)),
            "examples": int(len(labels)),
            "train_seconds": round(time.perf_counter() - start, 2),
        }

    def predict(self, clip):
        """``(class name, probability)`` of the trained head for one 16 kHz clip."""
        if self.trained is None:
            raise ValueError("train the classifier first")
        parts, names = self.trained
        logits = np.asarray(parts.head(self.features([clip]), training=False), "float64")
        probabilities = softmax(logits)[0]
        best = int(np.argmax(probabilities))
        return names[best], float(probabilities[best])

    def keep(self, metrics, *, name=None):
        """Save the trained classifier (``metrics``: what ``train`` returned) and its clips
        as a complete speech classifier run; returns the run."""
        if self.trained is None:
            raise ValueError("train the classifier first")
        parts, names = self.trained
        run = new_run("speech", {}, runs_dir=self.runs_dir, name=name or "taught")
        data_dir = run.artifact("data")
        for class_name in names:
            folder = data_dir / class_name
            folder.mkdir(parents=True, exist_ok=True)
            for index, (clip, _) in enumerate(self.examples[class_name]):
                (folder / f"{index:04d}.wav").write_bytes(encode_wav(clip))
        config = FinetuneConfig(
            data=str(data_dir),
            model=self.ref,
            mode="feature_extract",
            epochs=EPOCHS,
            learning_rate=LEARNING_RATE,
            clip_seconds=self.clip_seconds,
            validation_split=VALIDATION_SPLIT,
            seed=SEED,
            runs_dir=str(self.runs_dir) if self.runs_dir else None,
            name=name,
            tensorboard=False,
        )
        run.save_config(asdict(config))
        parts.model.save(run.artifact("model.keras"))
        run.save_labels(names)
        run.save_metrics(
            metrics | {"task": "classify", "split": "validation", "clip_seconds": self.clip_seconds}
        )
        run.set_status("complete", task="classify", accuracy=metrics["accuracy"])
        return run
