"""Configuration of the speech commands: fine-tune (CLI flags, config files, the UI),
predict and evaluate."""

from dataclasses import dataclass, field
from typing import Literal

from apps.speech.weights import convert_whisper_base, convert_whisper_tiny_en
from shared.models import ModelCatalog
from shared.predict_cli import PredictOptions, inputs_field

MODELS = ModelCatalog(
    name="speech",
    title="Speech to text",
    default_model="bundled:whisper_tiny_en",
    bundled={"whisper_tiny_en": convert_whisper_tiny_en, "whisper_base": convert_whisper_base},
    hub_presets=(
        "whisper_tiny_en",
        "whisper_base_en",
        "whisper_small_en",
        "whisper_tiny_multi",
        "whisper_base_multi",
        "whisper_small_multi",
        "moonshine_tiny_en",
        "moonshine_base_en",
    ),
)


@dataclass(frozen=True)
class FinetuneConfig:
    """Keyword/audio-class heads (folder of clips per class, tfds:) or transcript
    fine-tuning of the decoder (a CSV/TSV manifest of audio paths and texts)."""

    data: str = field(
        default="",
        metadata={"help": "class-per-folder clips, tfds:NAME, or a .csv/.tsv manifest"},
    )
    model: str = field(default="bundled:whisper_tiny_en", metadata={"help": "starting model"})
    mode: Literal["feature_extract", "fine_tune"] = field(
        default="feature_extract",
        metadata={
            "help": "classes: frozen encoder (+cached features) or top blocks unfrozen; "
            "manifests always fine-tune the decoder"
        },
    )
    epochs: int = field(default=10, metadata={"help": "epochs of the main phase"})
    head_epochs: int = field(default=5, metadata={"help": "head warm-up epochs (fine_tune)"})
    batch_size: int = field(default=16, metadata={"help": "clips per batch"})
    learning_rate: float = field(default=1e-3, metadata={"help": "head learning rate"})
    fine_tune_learning_rate: float = field(
        default=1e-5, metadata={"help": "learning rate of unfrozen Whisper layers"}
    )
    unfreeze_blocks: int = field(default=1, metadata={"help": "top encoder blocks to unfreeze"})
    clip_seconds: int = field(default=2, metadata={"help": "clip length (s) for class heads"})
    validation_split: float = field(default=0.2, metadata={"help": "held-out fraction"})
    patience: int = field(default=3, metadata={"help": "early-stopping patience"})
    seed: int = field(default=42, metadata={"help": "random seed"})
    max_per_class: int | None = field(default=None, metadata={"help": "cap clips per class"})
    runs_dir: str | None = field(default=None, metadata={"help": "runs registry root"})
    name: str | None = field(default=None, metadata={"help": "a name to show for the run"})
    tensorboard: bool = field(default=True, metadata={"help": "write TensorBoard logs"})

    @classmethod
    def tiny(cls, **overrides):
        """A seconds-long configuration for tests."""
        values = dict(epochs=1, head_epochs=1, batch_size=4, clip_seconds=1, patience=1)
        return cls(**(values | overrides))

    @property
    def task(self):
        """ "transcribe" for a manifest, else "classify"."""
        return "transcribe" if self.data.lower().endswith((".csv", ".tsv")) else "classify"

    def validate(self):
        """Raise ``ValueError`` naming the first bad value."""
        if not self.data:
            raise ValueError("--data is required: clip folders, tfds:NAME or a manifest")
        for name in ("epochs", "head_epochs", "batch_size", "patience", "unfreeze_blocks"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, received {getattr(self, name)}")
        if not 0.0 <= self.validation_split < 1.0:
            raise ValueError(
                f"validation_split must be in [0, 1), received {self.validation_split}"
            )
        if not 1 <= self.clip_seconds <= 30:
            raise ValueError(f"clip_seconds must be in [1, 30], received {self.clip_seconds}")


@dataclass(frozen=True)
class PredictConfig(PredictOptions):
    """``python -m apps.speech.predict``: audio clips in, transcripts out."""

    inputs: tuple[str, ...] = inputs_field(metavar="CLIP", kind="audio (WAV/FLAC/OGG/MP3)")
    beam_size: int = field(default=1, metadata={"help": "1 = greedy"})
    timestamps: bool = field(
        default=False, metadata={"help": "segment start/end times", "action": "store_true"}
    )
    language: str | None = field(
        default=None,
        metadata={"help": "spoken language code (de, pt, ...); default: detected"},
    )
    task: Literal["transcribe", "translate"] = field(
        default="transcribe",
        metadata={"help": "transcribe in the spoken language, or translate it to English"},
    )

    def validate(self):
        """Raise ``ValueError`` for a beam size below 1."""
        if self.beam_size < 1:
            raise ValueError("--beam-size must be at least 1")


@dataclass(frozen=True, kw_only=True)
class EvaluateConfig:
    """``python -m apps.speech.evaluate``: word error rate of a model on a manifest."""

    model: str | None = field(default=None, metadata={"help": "model reference"})
    data: str = field(metadata={"help": "CSV/TSV manifest: path, text columns"})
    beam_size: int = field(default=1, metadata={"help": "1 = greedy"})
    limit: int | None = field(default=None, metadata={"help": "first N clips only"})
    runs_dir: str | None = field(default=None, metadata={"help": "runs registry root"})
    json: bool = field(
        default=False, metadata={"help": "print the report as JSON", "action": "store_true"}
    )
