"""Export a fine-tuned classifier run for serving: a SavedModel, then TFLite from it."""

from apps.image_classify.model import load_classifier, serving_model
from shared.app_spec import Exporter
from shared.export import export_saved_model, export_tflite

TFLITE = "export/model.tflite"


def export_classifier(run):
    """Write ``export/saved_model`` and ``export/model.tflite`` of an image-classifier run."""
    saved_model = run.artifact("export/saved_model")
    if not saved_model.is_dir():
        task, _, _ = load_classifier(run.ref, runs_dir=run.path.parent.parent)
        export_saved_model(serving_model(task), saved_model)
    export_tflite(saved_model, run.artifact(TFLITE))


EXPORTERS = (Exporter("Export SavedModel and TFLite", TFLITE, export_classifier),)
