"""Configuration of the GAN commands: training (CLI flags, config files, the UI), predict
and evaluate."""

from dataclasses import dataclass, field
from typing import Literal

from apps.gan.weights import convert_dcgan_faces
from shared.export import FORMATS, check_formats
from shared.models import ModelCatalog

# The PyTorch DCGAN tutorial's face generator (64×64, DigiFace-1M), from gan-face-generate.
MODELS = ModelCatalog(
    name="gan",
    title="Image generation",
    default_model="bundled:dcgan_faces",
    bundled={"dcgan_faces": convert_dcgan_faces},
)


def is_generator_ref(ref):
    """True for a pretrained generator of this app (``bundled:dcgan_faces``), which a
    fine-tune starts from; other ``--model`` values name the Projected GAN's feature net."""
    name = ref.strip().removeprefix("bundled:")
    return ref.strip().startswith("bundled:") and name in MODELS.bundled


@dataclass(frozen=True)
class FinetuneConfig:
    """A DCGAN or a Projected GAN on an image folder, tfds:NAME or fashion-mnist, from scratch
    or from a pretrained generator (``--model bundled:dcgan_faces``)."""

    data: str = field(default="", metadata={"help": "image folder, tfds:NAME, or fashion-mnist"})
    model: str = field(
        default="bundled:efficientnet_lite0",
        metadata={
            "help": "a pretrained generator to fine-tune (bundled:dcgan_faces), or the frozen "
            "feature network of the Projected GAN (bundled:efficientnet_lite0, preset)"
        },
    )
    architecture: Literal["projected", "dcgan"] | None = field(
        default=None,
        metadata={
            "help": "discriminator: projected (Projected GAN) or dcgan; default projected, "
            "and dcgan for a pretrained generator"
        },
    )
    image_size: int = field(
        default=32,
        metadata={"help": "generated image size (16-128; a pretrained generator keeps its own)"},
    )
    epochs: int = field(default=20, metadata={"help": "passes over the images"})
    batch_size: int = field(default=64, metadata={"help": "images per batch"})
    learning_rate: float | None = field(
        default=None,
        metadata={
            "help": "Adam learning rate of both networks (default 2e-4 DCGAN, 1e-3 Projected; "
            "a pretrained generator takes 1/20 of it)"
        },
    )
    feature_size: int | None = field(
        default=None,
        metadata={"help": "input size of the feature net (>= 32; default the image size)"},
    )
    augment: bool = field(
        default=True,
        metadata={"help": "DiffAugment before the critic (DCGAN all of it, Projected translation)"},
    )
    max_images: int | None = field(default=None, metadata={"help": "use at most N images"})
    fid_every: int = field(default=1, metadata={"help": "epochs between FID/KID measurements"})
    fid_samples: int = field(default=500, metadata={"help": "images per FID/KID estimate"})
    time_budget_minutes: float | None = field(
        default=None, metadata={"help": "stop after this much wall time"}
    )
    seed: int = field(default=42, metadata={"help": "random seed"})
    runs_dir: str | None = field(default=None, metadata={"help": "runs registry root"})
    name: str | None = field(default=None, metadata={"help": "a name to show for the run"})
    export: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "also export the generator, each export checked against it: "
            + ", ".join(FORMATS)
        },
    )

    @property
    def pretrained(self):
        """True when training starts from a pretrained generator (``--model``)."""
        return is_generator_ref(self.model)

    @property
    def discriminator(self):
        """The architecture trained: ``architecture``, else its default for the start."""
        return self.architecture or ("dcgan" if self.pretrained else "projected")

    @classmethod
    def tiny(cls, **overrides):
        """A seconds-long configuration for tests."""
        values = dict(
            image_size=16, epochs=1, batch_size=8, feature_size=32, fid_samples=16, max_images=32
        )
        return cls(**(values | overrides))

    def validate(self):
        """Raise ``ValueError`` naming the first bad value."""
        if not self.data:
            raise ValueError("--data is required: an image folder, tfds:NAME or fashion-mnist")
        if self.image_size not in (16, 32, 64, 128):
            raise ValueError(f"image_size must be 16, 32, 64 or 128, received {self.image_size}")
        for name in ("epochs", "batch_size", "fid_every", "fid_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, received {getattr(self, name)}")
        if self.feature_size is not None and self.feature_size < 32:
            raise ValueError(f"feature_size must be >= 32, received {self.feature_size}")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, received {self.learning_rate}")
        check_formats(self.export)


@dataclass(frozen=True, kw_only=True)
class PredictConfig:
    """``python -m apps.gan.predict``: PNG samples of a generator (default bundled:dcgan_faces)."""

    model: str = field(
        default="", metadata={"help": "a GAN run (run:<id>) or bundled:dcgan_faces (default)"}
    )
    num_samples: int = field(default=16, metadata={"help": "images to generate"})
    seed: int = field(default=0, metadata={"help": "the same seed gives the same images"})
    out: str = field(default="samples", metadata={"help": "folder for the PNG files"})
    grid: bool = field(
        default=False, metadata={"help": "also write grid.png", "action": "store_true"}
    )
    json: bool = field(
        default=False, metadata={"help": "print the result as JSON", "action": "store_true"}
    )
    runs_dir: str | None = field(default=None, metadata={"help": "runs registry root"})


@dataclass(frozen=True, kw_only=True)
class EvaluateConfig:
    """``python -m apps.gan.evaluate``: FID and KID of a generator against real images."""

    model: str = field(metadata={"help": "a GAN run (run:<id>) or bundled:dcgan_faces"})
    data: str = field(metadata={"help": "real images: folder, tfds:NAME[:SPLIT] or fashion-mnist"})
    num_samples: int = field(default=1000, metadata={"help": "images per set"})
    seed: int = field(
        default=0, metadata={"help": "seeds the real subset, the latents and the KID subsets"}
    )
    network: str = field(
        default="efficientnet_lite0",
        metadata={
            "help": "feature network: efficientnet_lite0 (bundled) or inception_v3 "
            "(weights on disk)"
        },
    )
    runs_dir: str | None = field(default=None, metadata={"help": "runs registry root"})
    json: bool = field(
        default=False, metadata={"help": "print the result as JSON", "action": "store_true"}
    )
