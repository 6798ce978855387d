"""Image generation: a pretrained DCGAN face generator, fine-tuned or sampled as it is, and
GANs trained from scratch (a Projected GAN on frozen EfficientNet-Lite features vs a DCGAN)."""

from pathlib import Path

from apps.gan.config import MODELS, FinetuneConfig
from apps.gan.export import EXPORTERS
from apps.gan.predictor import Predictor
from apps.gan.ui import DEMO_DATA
from shared.app_spec import AppSpec

SPEC = AppSpec(
    name="gan",
    package=__name__,
    title="Image generation",
    icon=":material/auto_awesome:",
    description="Sample a pretrained face generator, fine-tune it on your images, or train a "
    "GAN from scratch (Projected GAN on pretrained features, or DCGAN).",
    modality="latent",
    models=MODELS,
    predictor=Predictor,
    page=Path(__file__).with_name("page.py"),
    finetune_config=FinetuneConfig,
    demo_data=DEMO_DATA,
    headline_metric="fid",
    exporters=EXPORTERS,
)
