"""Teach a sound classifier from a few recordings per class, in seconds.

The sound counterpart of ``apps.image_classify.teach``: each example clip (16 kHz, padded or
cut to ``clip_seconds``) becomes the frozen Whisper encoder's time-pooled features once, when
it is added; training fits only a new head on those cached features (the class-head model of
``train_classifier.build_parts``), so retraining after more examples takes a second or two.
``keep`` saves the result as an ordinary speech classifier run: the clips as a
class-per-folder dataset inside the run, the model as ``model.keras``, labels and held-out
accuracy, so ``Predictor.load("run:<id>")`` reloads it like any fine-tuned class head.
"""

from dataclasses import asdict

import numpy as np

from apps.speech.config import FinetuneConfig
from apps.speech.data import fit_length
from apps.speech.model import SAMPLE_RATE, audio_features, load_transcriber
from apps.speech.train_classifier import build_parts
from shared.audio import encode_wav
from shared.devices import compile_step
from shared.runs import new_run
from shared.teach import (
    EPOCHS,
    LEARNING_RATE,
    SEED,
    VALIDATION_SPLIT,
    FewShotTeacher,
    check_class_names,
)

DEFAULT_MODEL = "bundled:whisper_tiny_en"
CLIP_SECONDS = 2
__all__ = ["CLIP_SECONDS", "DEFAULT_MODEL", "SoundTeacher", "check_class_names"]


class SoundTeacher(FewShotTeacher):
    """Example clips in, a trained head out (``shared.teach.FewShotTeacher``).

    Args:
        ref: the Whisper model whose encoder is frozen (default Whisper tiny.en).
        runs_dir: runs registry root (for ``run:`` references and ``keep``).
        clip_seconds: every clip is padded with silence or cut to this many seconds.
    """

    def __init__(self, ref=DEFAULT_MODEL, *, runs_dir=None, clip_seconds=CLIP_SECONDS):
        super().__init__()
        self.ref, self.runs_dir, self.clip_seconds = ref, runs_dir, int(clip_seconds)
        loaded = load_transcriber(ref, runs_dir=runs_dir)
        if not hasattr(loaded, "generator"):
            raise ValueError(f"{ref}: teaching sounds needs a Whisper model")
        self.backbone = loaded.generator.backbone
        extractor = build_parts(self.backbone, 2).feature_extractor
        self._features = compile_step(lambda batch: extractor(batch, training=False))
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
        return self.add_example(name, fit_length(clip, self.length))

    def new_head(self, num_classes):
        parts = build_parts(self.backbone, num_classes)
        return parts.model, parts.head

    def keep(self, metrics, *, name=None):
        """Save the trained classifier (``metrics``: what ``train`` returned) and its clips
        as a complete speech classifier run; returns the run."""
        if self.trained is None:
            raise ValueError("train the classifier first")
        model, names, _ = self.trained
        run = new_run("speech", {}, runs_dir=self.runs_dir, name=name or "taught")
        data_dir = self.write_examples(
            run, lambda clip, path: path.with_suffix(".wav").write_bytes(encode_wav(clip))
        )
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
        model.save(run.artifact("model.keras"))
        run.save_labels(names)
        run.save_metrics(
            metrics | {"task": "classify", "split": "validation", "clip_seconds": self.clip_seconds}
        )
        run.set_status("complete", task="classify", accuracy=metrics["accuracy"])
        return run
