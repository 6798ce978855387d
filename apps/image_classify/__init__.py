"""Image classification on EfficientNet-Lite (bundled, offline) and keras-hub presets."""

from pathlib import Path

from apps.image_classify.config import MODELS, FinetuneConfig
from apps.image_classify.export import EXPORTERS
from apps.image_classify.predictor import Predictor
from apps.image_classify.ui import DEMO_DATA, SAMPLES, render_compact, summary
from shared.app_spec import AppSpec, Compact

SPEC = AppSpec(
    name="image_classify",
    package=__name__,
    title="Image classification",
    icon=":material/image_search:",
    description="Name what is in a photo (1000 ImageNet classes) or teach it your own classes.",
    modality="image",
    models=MODELS,
    predictor=Predictor,
    page=Path(__file__).with_name("page.py"),
    samples=SAMPLES,
    compact=Compact(render_compact, summary),
    finetune_config=FinetuneConfig,
    demo_data=DEMO_DATA,
    headline_metric="accuracy",
    exporters=EXPORTERS,
)
