"""Speech recognition on Whisper (bundled tiny.en and multilingual base, offline) and keras-hub
presets."""

from pathlib import Path

from apps.speech.config import MODELS, FinetuneConfig
from apps.speech.predictor import Predictor
from apps.speech.ui import DEMO_DATA, SAMPLES, render_compact, summary
from shared.app_spec import AppSpec, Compact

SPEC = AppSpec(
    name="speech",
    package=__name__,
    title="Speech to text",
    icon=":material/mic:",
    description="Transcribe speech from the microphone or a file, offline: English, or "
    "99 languages identified and translated to English with Whisper base.",
    modality="audio",
    models=MODELS,
    predictor=Predictor,
    page=Path(__file__).with_name("page.py"),
    samples=SAMPLES,
    compact=Compact(render_compact, summary),
    finetune_config=FinetuneConfig,
    demo_data=DEMO_DATA,
    headline_metric="wer",
)
