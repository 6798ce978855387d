"""Predict and render any app's result in a compact form (the Compare and Chains pages).

One table, ``RUNNERS``: app name -> how to call its ``Predictor`` on one input and how to show
the result in a narrow column. Models load through ``shared.ui.widgets.cached_model``, with
the same loader the app pages use, so a model opened on any page is loaded once per process.
"""

import importlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from apps import APPS
from shared.runs import RUN_REF_PREFIX, open_run
from shared.ui.widgets import cached_model, escape_markdown, probability_table

MODEL_ATTRIBUTES = 3  # how deep to look inside a predictor for Keras models
CROP_MARGIN = 0.15  # context around a detected box helps a classifier


def app_spec(name):
    """The ``AppSpec`` of the app called ``name``."""
    return next(spec for spec in APPS if spec.name == name)


def load_predictor(spec, ref):
    """``apps.<app>.predict.Predictor.load(ref)`` once per process; None after an st.error."""
    predictor_cls = importlib.import_module(f"apps.{spec.name}.predict").Predictor
    return cached_model(predictor_cls.load, ref, spec=spec)


def _classify(predictor, image, name):
    return predictor.predict(image, top_k=5, sources=[name] if name else None)


def _render_classification(result, image):
    best = result.predictions[0]
    st.metric("Top class", best.label, f"{best.score:.1%}", delta_color="off")
    table = pd.DataFrame(
        {
            "label": [prediction.label for prediction in result.predictions],
            "probability": [prediction.score for prediction in result.predictions],
        }
    )
    probability_table(table)


def _detect(predictor, image, name):
    return predictor.predict(image, source=name)


def _render_detections(result, image):
    from apps.detection.predict import draw_detections

    st.image(draw_detections(image, result.detections), caption=f"{result.model}")
    st.metric("Detections", len(result.detections))


def _transcribe(predictor, audio, name):
    return predictor.transcribe(audio, source=name)


def _render_transcript(result, audio):
    st.markdown(f"### {escape_markdown(result.text) or '(no speech heard)'}")


def _translate(predictor, text, name):
    return predictor.predict(text)


def _render_translation(result, text):
    st.markdown(f"### {escape_markdown(result.translation)}")


def _summary(result):
    """The result in a few words, for the comparison table."""
    if hasattr(result, "predictions"):
        best = result.predictions[0]
        return f"{best.label} ({best.score:.0%})"
    if hasattr(result, "detections"):
        labels = sorted({str(found["label"]) for found in result.detections})
        return f"{len(result.detections)} found" + (f": {', '.join(labels)}" if labels else "")
    return getattr(result, "translation", None) or getattr(result, "text", "") or "—"


@dataclass(frozen=True)
class Runner:
    """How the shared pages call one app: ``predict(predictor, value, name)``, then
    ``render(result, value)`` inside the current column."""

    predict: object
    render: object


RUNNERS = {
    "image_classify": Runner(_classify, _render_classification),
    "detection": Runner(_detect, _render_detections),
    "speech": Runner(_transcribe, _render_transcript),
    "translate": Runner(_translate, _render_translation),
}


def _keras_models(value, depth, found):
    """Collect the Keras models reachable from ``value`` through attributes and containers."""
    import keras

    if depth > MODEL_ATTRIBUTES or value is None or isinstance(value, (str, bytes, int, float)):
        return
    if isinstance(value, keras.Model):
        found[id(value)] = value
        return
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, (list, tuple)):
        children = list(value)
    else:
        children = list(getattr(value, "__dict__", {}).values())
    for child in children[:64]:
        _keras_models(child, depth + 1, found)


def parameter_count(predictor):
    """The parameters of the Keras models inside ``predictor`` (None when none are found)."""
    found = {}
    _keras_models(predictor, 0, found)
    total = 0
    for model in found.values():
        try:
            total += model.count_params()
        except ValueError:  # an unbuilt model
            continue
    return total or None


def format_count(count):
    """``4.7 M``, ``120 k``, or ``—``."""
    if not count:
        return "—"
    return f"{count / 1e6:.1f} M" if count >= 1e6 else f"{count / 1e3:.0f} k"


def run_metric(ref, app):
    """The stored metric of a fine-tuned run (``accuracy 0.93``), or "—" for other models."""
    if not ref.startswith(RUN_REF_PREFIX):
        return "—"
    try:
        metrics = open_run(ref, app=app).metrics
    except (OSError, ValueError):
        return "unreadable"
    for name in ("accuracy", "map50", "wer", "fid", "bleu", "chrf"):
        if isinstance(metrics.get(name), (int, float)):
            return f"{name} {metrics[name]:.3g}"
    numbers = [(k, v) for k, v in metrics.items() if isinstance(v, (int, float))]
    return f"{numbers[0][0]} {numbers[0][1]:.3g}" if numbers else "—"


def predict(spec, ref, value, name):
    """Load ``ref`` of app ``spec`` and predict ``value``: ``(predictor, result)`` or None.

    Nothing is drawn but a loading spinner or an ``st.error``: the Compare page predicts with
    every model first and renders afterwards, so that the browser drawing one column does
    not slow down the next model's timed prediction.
    """
    predictor = load_predictor(spec, ref)
    if predictor is None:
        return None
    try:
        return predictor, RUNNERS[spec.name].predict(predictor, value, name)
    except ValueError as error:
        st.error(f"{ref}: {error}", icon=":material/error:")
        return None


def render(spec, ref, value, predictor, result):
    """Draw one model's result, latency, size and run metric; a row for the summary table.

    Returns:
        ``{"app", "model", "output", "latency (ms)", "parameters", "run metric"}``.
    """
    RUNNERS[spec.name].render(result, value)
    parameters = parameter_count(predictor)
    latency, size = st.columns(2)
    latency.metric("Latency", f"{result.latency_ms:.0f} ms")
    size.metric("Parameters", format_count(parameters))
    metric = run_metric(ref, spec.name)
    if metric != "—":
        st.caption(f"Run metric: {metric}")
    return {
        "app": spec.title,
        "model": ref,
        "output": _summary(result),
        "latency (ms)": round(result.latency_ms, 1),
        "parameters": parameters,
        "run metric": metric,
    }


def crop(image, box, margin=CROP_MARGIN):
    """The box ``(x1, y1, x2, y2)`` of ``image`` with a margin, clipped to the image."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (float(value) for value in box)
    pad_x, pad_y = margin * (x2 - x1), margin * (y2 - y1)
    left, top = max(0, int(x1 - pad_x)), max(0, int(y1 - pad_y))
    right, bottom = min(width, int(np.ceil(x2 + pad_x))), min(height, int(np.ceil(y2 + pad_y)))
    if right - left < 2 or bottom - top < 2:
        return None
    return np.ascontiguousarray(image[top:bottom, left:right])
