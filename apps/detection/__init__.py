"""Object detection: YOLOv3-tiny on COCO's 80 classes and MTCNN faces (bundled, offline),
keras-hub COCO detectors, and detectors fine-tuned on the user's boxes (a CenterNet head on
a pretrained backbone, or the COCO YOLOv3-tiny with new output convolutions), exported with
each export checked."""

from pathlib import Path

from apps.detection.config import MODELS, FinetuneConfig
from apps.detection.export import EXPORTERS
from apps.detection.predictor import Predictor
from apps.detection.ui import DEMO_DATA, SAMPLES, render_compact, summary
from shared.app_spec import AppSpec, Compact

SPEC = AppSpec(
    name="detection",
    package=__name__,
    title="Object detection",
    icon=":material/center_focus_strong:",
    description="Find COCO objects or faces offline, or train a detector on your boxes.",
    modality="image",
    models=MODELS,
    predictor=Predictor,
    page=Path(__file__).with_name("page.py"),
    samples=SAMPLES,
    compact=Compact(render_compact, summary),
    finetune_config=FinetuneConfig,
    demo_data=DEMO_DATA,
    headline_metric="map50",
    exporters=EXPORTERS,
)
