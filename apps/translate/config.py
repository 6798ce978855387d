"""Configuration of the translation commands: fine-tune (CLI flags, config files, the UI),
predict and evaluate."""

from dataclasses import dataclass, field
from typing import Literal

from apps.translate.text import MAX_CHARACTERS
from apps.translate.weights import convert_bergamot_en_pt, convert_bergamot_pt_en
from shared.models import ModelCatalog

MODELS = ModelCatalog(
    name="translate",
    title="Translation",
    default_model="bundled:bergamot_en_pt",
    bundled={"bergamot_en_pt": convert_bergamot_en_pt, "bergamot_pt_en": convert_bergamot_pt_en},
    hub_presets=("t5_small_multi", "t5_base_multi", "t5_large_multi"),
)


@dataclass(frozen=True)
class FinetuneConfig:
    """Adapt a Bergamot-architecture model to a parallel corpus (domain or a new language)."""

    data: str = field(
        default="", metadata={"help": "pairs: a .tsv/.csv file, tfds:NAME or bible:SRC-TGT"}
    )
    model: str = field(default="bundled:bergamot_en_pt", metadata={"help": "starting model"})
    mode: Literal["fine_tune", "feature_extract", "scratch"] = field(
        default="fine_tune",
        metadata={
            "help": "fine_tune: all layers; feature_extract: encoder and embeddings frozen, "
            "decoder trained; scratch: same architecture from random weights"
        },
    )
    target_language: str | None = field(
        default=None, metadata={"help": "code of the new target language (e.g. es)"}
    )
    epochs: int = field(default=5, metadata={"help": "passes over the training pairs"})
    batch_size: int = field(default=32, metadata={"help": "sentence pairs per batch"})
    fine_tune_learning_rate: float = field(default=3e-4, metadata={"help": "Adam learning rate"})
    max_length: int = field(default=64, metadata={"help": "tokens per sentence (longer: cut)"})
    max_pairs: int | None = field(default=None, metadata={"help": "use at most N pairs"})
    validation_split: float = field(default=0.1, metadata={"help": "held-out fraction"})
    max_held_out: int = field(default=200, metadata={"help": "most held-out pairs scored"})
    bleu_every: int = field(default=1, metadata={"help": "epochs between BLEU (0: never)"})
    patience: int = field(default=3, metadata={"help": "early-stopping patience"})
    seed: int = field(default=42, metadata={"help": "random seed"})
    runs_dir: str | None = field(default=None, metadata={"help": "runs registry root"})
    name: str | None = field(default=None, metadata={"help": "a name to show for the run"})
    tensorboard: bool = field(default=True, metadata={"help": "write TensorBoard logs"})

    @classmethod
    def tiny(cls, **overrides):
        """A seconds-long configuration for tests."""
        values = dict(epochs=1, batch_size=4, max_length=16, patience=1, max_held_out=4)
        return cls(**(values | overrides))

    def validate(self):
        """Raise ``ValueError`` naming the first bad value."""
        if not self.data:
            raise ValueError("--data is required: a .tsv/.csv of pairs, tfds:NAME or bible:")
        for name in ("epochs", "batch_size", "patience", "max_held_out"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, received {getattr(self, name)}")
        if not 8 <= self.max_length <= 256:
            raise ValueError(f"max_length must be 8..256, received {self.max_length}")
        if not 0.0 < self.validation_split < 1.0:
            raise ValueError(
                f"validation_split must be in (0, 1), received {self.validation_split}"
            )


@dataclass(frozen=True)
class PredictConfig:
    """``python -m apps.translate.predict``: texts (or text files) in, translations out."""

    texts: tuple[str, ...] = field(
        default=(), metadata={"help": "text to translate", "positional": True, "metavar": "TEXT"}
    )
    file: tuple[str, ...] = field(
        default=(), metadata={"help": "a UTF-8 text file (repeatable)", "action": "append"}
    )
    direction: Literal["en-pt", "pt-en"] = field(
        default="en-pt", metadata={"help": "the bundled model's language pair"}
    )
    model: str | None = field(
        default=None, metadata={"help": "model reference (none: the --direction's model)"}
    )
    target_language: str | None = field(
        default=None, metadata={"help": "T5 presets: German|French|..."}
    )
    beam_size: int = field(default=1, metadata={"help": "1 = greedy"})
    alternatives: int = field(default=1, metadata={"help": "candidates to return"})
    max_characters: int = field(default=MAX_CHARACTERS, metadata={"help": "longest text accepted"})
    json: bool = field(
        default=False, metadata={"help": "one JSON object per input", "action": "store_true"}
    )
    runs_dir: str | None = field(default=None, metadata={"help": "runs registry root"})


@dataclass(frozen=True, kw_only=True)
class EvaluateConfig:
    """``python -m apps.translate.evaluate``: BLEU and chrF of a model on parallel pairs."""

    model: str | None = field(default=None, metadata={"help": "model reference"})
    data: str = field(metadata={"help": ".tsv/.csv pairs, tfds:NAME, bible:SRC-TGT"})
    max_pairs: int = field(default=500, metadata={"help": "score at most N pairs"})
    beam_size: int = field(default=1, metadata={"help": "1 = greedy"})
    json: bool = field(
        default=False, metadata={"help": "print one JSON object", "action": "store_true"}
    )
    runs_dir: str | None = field(default=None, metadata={"help": "runs registry root"})
