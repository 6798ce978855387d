"""Configuration of the image-classification commands: fine-tune (CLI flags, config files,
the UI), predict and evaluate."""

from dataclasses import dataclass, field
from typing import Literal

from shared.export import FORMATS, check_formats
from shared.image_backbones import IMAGE_BACKBONES
from shared.predict_cli import PredictOptions, inputs_field

MODELS = IMAGE_BACKBONES  # the classifiers are the image backbones the other image apps use
EXPORT_FORMATS = tuple(FORMATS)


@dataclass(frozen=True)
class FinetuneConfig:
    """Everything a fine-tune needs; saved resolved with the run."""

    data: str = field(default="", metadata={"help": "class-per-folder directory or tfds:NAME"})
    model: str = field(
        default="bundled:efficientnet_lite0",
        metadata={"help": "starting model reference (bundled:, preset, run:, path)"},
    )
    mode: Literal["feature_extract", "fine_tune", "scratch"] = field(
        default="feature_extract",
        metadata={"help": "frozen backbone + cached features, unfreeze top blocks, or scratch"},
    )
    epochs: int = field(default=10, metadata={"help": "epochs of the main phase"})
    head_epochs: int = field(default=5, metadata={"help": "head warm-up epochs (fine_tune)"})
    batch_size: int = field(default=32, metadata={"help": "images per batch"})
    learning_rate: float = field(default=1e-3, metadata={"help": "head / scratch learning rate"})
    fine_tune_learning_rate: float = field(
        default=1e-4, metadata={"help": "learning rate once backbone blocks are unfrozen"}
    )
    unfreeze_blocks: int = field(default=2, metadata={"help": "top backbone blocks to unfreeze"})
    validation_split: float = field(
        default=0.2, metadata={"help": "fraction held out for validation (stratified)"}
    )
    image_size: int | None = field(
        default=None, metadata={"help": "square input size (default: the model's own)"}
    )
    augment: bool = field(default=True, metadata={"help": "flip/rotate/zoom when fine-tuning"})
    dropout: float = field(default=0.2, metadata={"help": "dropout before the new head"})
    patience: int = field(default=3, metadata={"help": "early-stopping patience (epochs)"})
    seed: int = field(default=42, metadata={"help": "random seed (split, init, shuffling)"})
    max_images_per_class: int | None = field(
        default=None, metadata={"help": "cap images per class (quick experiments)"}
    )
    runs_dir: str | None = field(default=None, metadata={"help": "runs registry root"})
    name: str | None = field(default=None, metadata={"help": "a name to show for the run"})
    export: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "also export, and check each export on the held-out images: "
            + ", ".join(EXPORT_FORMATS)
        },
    )
    tensorboard: bool = field(default=True, metadata={"help": "write TensorBoard logs"})

    @classmethod
    def tiny(cls, **overrides):
        """A seconds-long configuration for tests."""
        values = dict(epochs=1, head_epochs=1, batch_size=4, image_size=32, patience=1)
        values.update(overrides)
        return cls(**values)

    def validate(self):
        """Raise ``ValueError`` naming the first bad value."""
        if not self.data:
            raise ValueError("--data is required: a class-per-folder directory or tfds:NAME")
        if not 0.0 <= self.validation_split < 1.0:
            raise ValueError(
                f"validation_split must be in [0, 1), received {self.validation_split}"
            )
        for name in ("epochs", "head_epochs", "batch_size", "patience", "unfreeze_blocks"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, received {getattr(self, name)}")
        for name in ("learning_rate", "fine_tune_learning_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, received {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), received {self.dropout}")
        for name in ("image_size", "max_images_per_class"):
            value = getattr(self, name)
            if value is not None and value < (8 if name == "image_size" else 1):
                raise ValueError(f"{name} is too small: received {value}")
        check_formats(self.export)


@dataclass(frozen=True)
class PredictConfig(PredictOptions):
    """``python -m apps.image_classify.predict``: images in, top-k classes out."""

    inputs: tuple[str, ...] = inputs_field(metavar="IMAGE", kind="image")
    top_k: int = field(default=5, metadata={"help": "classes per image"})
    batch_size: int = field(default=16, metadata={"help": "images per batch"})

    def validate(self):
        """Raise ``ValueError`` for a batch size or top-k below 1."""
        if self.batch_size < 1 or self.top_k < 1:
            raise ValueError("--batch-size and --top-k must be at least 1")


@dataclass(frozen=True, kw_only=True)
class EvaluateConfig:
    """``python -m apps.image_classify.evaluate``: accuracy of a model on a dataset."""

    model: str | None = field(default=None, metadata={"help": "model reference"})
    data: str = field(metadata={"help": "class-per-folder directory or tfds:NAME[:SPLIT] (test)"})
    batch_size: int = field(default=32, metadata={"help": "images per batch"})
    max_images_per_class: int | None = field(
        default=None, metadata={"help": "cap images per class"}
    )
    runs_dir: str | None = field(default=None, metadata={"help": "runs registry root"})
    json: bool = field(
        default=False, metadata={"help": "print the report as JSON", "action": "store_true"}
    )
