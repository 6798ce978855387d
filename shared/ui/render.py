"""Predict and render any app's result in a compact form (the Compare and Chains pages).

Each app's ``AppSpec`` says how: its ``predictor`` loads and predicts, its ``compact`` draws
the result in a narrow column and sums it up in a few words. Models load through
``shared.ui.widgets.cached_model``, with the same loader the app pages use, so a model opened
on any page is loaded once per process.
"""

import threading
import weakref

import numpy as np
import streamlit as st

from shared.runs import RUN_REF_PREFIX, open_run
from shared.ui.result_cache import cached_predict
from shared.ui.run_files import metric_summary
from shared.ui.widgets import cached_model

MODEL_ATTRIBUTES = 3  # how deep to look inside a predictor for Keras models
CROP_MARGIN = 0.15  # context around a detected box helps a classifier


def load_predictor(spec, ref):
    """``spec.predictor.load(ref)`` once per process; None after an ``st.error``."""
    return cached_model(spec.predictor.load, ref, spec=spec)


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


_counts = weakref.WeakKeyDictionary()  # a loaded predictor -> its parameter count
_counts_lock = threading.Lock()


def parameter_count(predictor):
    """The parameters of the Keras models inside ``predictor`` (None when none are found),
    counted once per loaded predictor (walking the weights takes milliseconds every run)."""
    try:
        with _counts_lock:
            if predictor in _counts:
                return _counts[predictor]
    except TypeError:  # not weakly referenceable: counted every time
        return _count_parameters(predictor)
    count = _count_parameters(predictor)
    with _counts_lock:
        _counts[predictor] = count
    return count


def _count_parameters(predictor):
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


def run_metric(ref, spec):
    """The headline metric of a fine-tuned run (``accuracy 0.93``), or "—" for other models."""
    if not ref.startswith(RUN_REF_PREFIX):
        return "—"
    try:
        run = open_run(ref, app=spec.name)
    except (OSError, ValueError):
        return "unreadable"
    return metric_summary(run, spec.headline_metric)


def predict(spec, ref, value, name):
    """Load ``ref`` of app ``spec`` and predict ``value``: ``(predictor, result)`` or None.

    Nothing is drawn but a loading spinner or an ``st.error``: the Compare page predicts with
    every model first and renders afterwards, so that the browser drawing one column does
    not slow down the next model's timed prediction. The prediction is shared by every user
    of the server (``shared.ui.result_cache``): the same input and model run once.
    """
    predictor = load_predictor(spec, ref)
    if predictor is None:
        return None
    try:
        return predictor, cached_predict(predictor, value, app=spec.name, model=ref, source=name)
    except ValueError as error:
        st.error(f"{ref}: {error}", icon=":material/error:")
        return None


def render(spec, ref, value, predictor, result):
    """Draw one model's result, latency, size and run metric; a row for the summary table.

    Returns:
        ``{"app", "model", "output", "latency (ms)", "parameters", "run metric"}``.
    """
    spec.compact.render(result, value)
    parameters = parameter_count(predictor)
    latency, size = st.columns(2)
    latency.metric("Latency", f"{result.latency_ms:.0f} ms")
    size.metric("Parameters", format_count(parameters))
    metric = run_metric(ref, spec)
    if metric != "—":
        st.caption(f"Run metric: {metric}")
    return {
        "app": spec.title,
        "model": ref,
        "output": spec.compact.summary(result),
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
