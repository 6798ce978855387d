"""Train a detector on a user's boxes: a CenterNet on an image backbone (``centernet_fit``)
or the COCO YOLOv3-tiny fine-tuned (``yolo_fit``), then the asked exports, each checked
(``export``)."""

from apps.detection import centernet_fit, export, yolo_fit
from shared.export_check import format_report


def prepare(config):
    """Load the boxes (broken annotations: error or warning first) and the model, before any
    run is created."""
    if yolo_fit.is_yolo_ref(config.model):
        return yolo_fit.prepare(config)
    return centernet_fit.prepare(config)


def train(prepared, config, plan, run, *, callbacks=(), verbose=1):
    """Train the detector per ``plan``, then write and check the asked exports
    (``apps.detection.export``); returns the run's metrics (COCO mAP)."""
    if isinstance(prepared, yolo_fit.Prepared):
        metrics = yolo_fit.train(prepared, config, plan, run, callbacks=callbacks, verbose=verbose)
    else:
        metrics = centernet_fit.train(prepared, config, plan, run, callbacks, verbose)
    if config.export:
        report = export.export_run(run, config.export, data=prepared.data)
        if verbose:
            print(format_report(report), flush=True)
    return metrics
