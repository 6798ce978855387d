"""Translation: Bergamot EN↔PT students in Keras (bundled, offline) and keras-hub T5 presets."""

from pathlib import Path

from apps.translate.config import MODELS, FinetuneConfig
from apps.translate.predictor import Predictor
from apps.translate.ui import SAMPLES, render_compact, summary
from shared.app_spec import AppSpec, Compact

SPEC = AppSpec(
    name="translate",
    package=__name__,
    title="Translation",
    icon=":material/translate:",
    description="Translate between English and Portuguese offline, or fine-tune a new pair.",
    modality="text",
    models=MODELS,
    predictor=Predictor,
    page=Path(__file__).with_name("page.py"),
    samples=SAMPLES,
    compact=Compact(render_compact, summary),
    finetune_config=FinetuneConfig,
    headline_metric="bleu",
)
