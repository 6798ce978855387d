"""Reusable Streamlit widgets: image input, model choice, cached model loading, errors.

Every page builds on these so that all apps look and fail the same way: inputs are decoded
safely, models load once per process through ``st.cache_resource``, and a problem is an
``st.error`` that says what to do, never a traceback.
"""

import functools
import logging
import os
import weakref

import numpy as np
import streamlit as st

from shared.cache import cached_preset_dir
from shared.images import IMAGE_EXTENSIONS, decode_image
from shared.models import bundled_cache_name, is_offline, offline_choices
from shared.runs import RUN_REF_PREFIX, list_runs

MAX_UPLOAD_MB = 20
IMAGE_TYPES = tuple(extension.lstrip(".") for extension in IMAGE_EXTENSIONS)
IMAGE_SOURCES = ("Upload", "Camera", "Sample")
BUNDLED_PREFIX = "bundled:"
_LOG = logging.getLogger(__name__)


def show_error(error, *, hint=None):
    """Show ``error`` (an exception or a message) as ``st.error``, then ``hint`` if given."""
    message = str(error) or type(error).__name__
    st.error(message if hint is None else f"{message}\n\n{hint}", icon=":material/error:")


def probability_table(table):
    """``table`` (a DataFrame with a "probability" column) with the probabilities as bars."""
    bars = st.column_config.ProgressColumn(
        "probability", format="percent", min_value=0.0, max_value=1.0
    )
    st.dataframe(table, hide_index=True, column_config={"probability": bars})


def _to_rgb_uint8(image):
    """Any gray/RGB/RGBA array as (H, W, 3) uint8 (samples come in several layouts)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        scale = 255.0 if image.dtype.kind == "f" and image.max() <= 1.0 else 1.0
        image = np.clip(image * scale, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


# Samples are decoded once per process: scikit-image reads and decodes the PNG on every call
# (6 ms for the cat), on every rerun of every user's page.
SAMPLE_IMAGES_KEPT = 32


@functools.lru_cache(maxsize=SAMPLE_IMAGES_KEPT)
def _sample_image(loader):
    image = _to_rgb_uint8(loader())
    image.setflags(write=False)
    return image


def sample_image(loader):
    """``loader()`` as (H, W, 3) uint8, decoded once per process; each call gets its copy."""
    return _sample_image(loader).copy()


def decode_upload(uploaded, *, max_mb=MAX_UPLOAD_MB):
    """Decode an ``UploadedFile`` (upload or camera photo) into an RGB uint8 array.

    Returns:
        ``(image, name)``; ``image`` is None when nothing was uploaded or the file is not a
        usable image, in which case an ``st.error`` already says why and what to do.
    """
    if uploaded is None:
        return None, None
    name = uploaded.name
    max_bytes = max_mb * 1024 * 1024
    if uploaded.size > max_bytes:
        st.error(
            f"{name} is {uploaded.size / 2**20:.1f} MB; the limit is {max_mb} MB. "
            "Resize or compress the image and upload it again.",
            icon=":material/error:",
        )
        return None, name
    try:
        return decode_image(uploaded.getvalue(), name=name, max_bytes=max_bytes), name
    except ValueError as error:
        show_error(error, hint="Upload a photo (JPEG, PNG, WebP, BMP or GIF), or pick a sample.")
        return None, name


def image_input(key, samples, *, default="Sample"):
    """Let the user upload an image, take a photo, or pick a sample.

    Args:
        key: prefix for the widget keys (unique per page).
        samples: sample name -> callable returning an image array (uint8 preferred).
        default: the source selected at first ("Upload", "Camera" or "Sample").

    Returns:
        ``(image, source_name)``: an (H, W, 3) uint8 array or None, and the file/sample name.
    """
    sources = IMAGE_SOURCES if samples else IMAGE_SOURCES[:2]
    index = sources.index(default) if default in sources else 0
    source = st.radio("Image source", sources, index=index, horizontal=True, key=f"{key}_source")
    if source == "Upload":
        uploaded = st.file_uploader(
            "Upload an image",
            type=list(IMAGE_TYPES),
            max_upload_size=MAX_UPLOAD_MB,
            key=f"{key}_upload",
            help=f"JPEG, PNG, WebP, BMP or GIF, up to {MAX_UPLOAD_MB} MB.",
        )
        return decode_upload(uploaded)
    if source == "Camera":
        # Only rendered when chosen, so the browser asks for the camera only then.
        return decode_upload(st.camera_input("Take a photo", key=f"{key}_camera"))
    name = st.selectbox("Sample image", list(samples), key=f"{key}_sample")
    return sample_image(samples[name]), name


# Preset directories seen converted: the app never removes one, and Home asks about each
# default model on every rerun of every user (a stat is 0.1-0.2 ms here, 2 ms a Home run).
_CONVERTED = set()


def bundled_converted(spec, name):
    """True when ``bundled:<name>`` of app ``spec`` is already converted in the cache."""
    path = str(cached_preset_dir(bundled_cache_name(spec, name)))
    if path not in _CONVERTED and os.path.isdir(path):
        _CONVERTED.add(path)
    return path in _CONVERTED


def weights_status(spec, ref=None):
    """A short phrase saying whether the weights behind ``ref`` (default model) are ready."""
    ref = ref or spec.default_model
    if ref.startswith(BUNDLED_PREFIX):
        if bundled_converted(spec, ref.removeprefix(BUNDLED_PREFIX)):
            return "bundled (converted)"
        return "bundled (converts on first use, offline)"
    if ref.startswith(RUN_REF_PREFIX):
        return "fine-tuned run (offline)"
    return "needs network"


def _metric_text(run):
    """The run's first numeric metric as "name value", for the model list."""
    try:
        metrics = run.metrics
    except ValueError:  # corrupt metrics.json: still listable, just unlabelled
        return "metrics unreadable"
    for name, value in (metrics or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"{name} {value:.3g}"
    return "no metrics"


def model_choices(spec, runs_dir=None, *, online=True):
    """``(ref, label)`` pairs: what works offline first, then keras-hub presets if ``online``.

    The offline models are the bundled ones and the complete fine-tuned runs; the hub
    presets come after them, grouped and labelled as downloading from the network.
    """
    choices = [
        (BUNDLED_PREFIX + name, f"{BUNDLED_PREFIX}{name} — offline") for name in spec.bundled
    ]
    try:
        complete = list_runs(spec.name, runs_dir=runs_dir, include_incomplete=False)
    except (OSError, ValueError) as error:
        _LOG.warning("cannot list runs of %s: %s", spec.name, error)
        complete = []
    choices += [(run.ref, f"{run.ref} — {_metric_text(run)}") for run in complete]
    if online:
        choices += [
            (preset, f"🌐 {preset} — keras-hub, needs network") for preset in spec.hub_presets
        ]
    return choices


def show_online_models(key):
    """Whether to offer keras-hub presets: always when online; offline, when the user asks.

    Offline, this shows a "Show online models" toggle (widget key ``key``), off at first.
    """
    if not is_offline():
        return True
    return st.toggle(
        "Show online models",
        value=False,
        key=key,
        help="Keras-hub presets download their weights on first use: they need the network.",
    )


def model_selector(spec, key, *, label="Model"):
    """A select box of the models of app ``spec``; returns the chosen reference.

    The models that work offline come first, with the default preselected; keras-hub presets
    follow, and while offline only once the toggle under the box (key ``<key>_online``) is on.
    """
    box = st.container()
    labels = dict(model_choices(spec, online=show_online_models(f"{key}_online")))
    refs = list(labels)
    if st.session_state.get(key) not in (None, *refs):
        del st.session_state[key]  # a hub preset hidden again: back to the default
    index = refs.index(spec.default_model) if spec.default_model in refs else 0
    return box.selectbox(
        label,
        refs,
        index=index,
        format_func=lambda ref: labels.get(ref, ref),
        key=key,
        help="Models marked offline work without a network; hub presets download once.",
    )


def loading_message(spec, ref):
    """The spinner text while ``ref`` loads: conversion of bundled weights takes longer."""
    if spec is not None and ref and ref.startswith(BUNDLED_PREFIX):
        if not bundled_converted(spec, ref.removeprefix(BUNDLED_PREFIX)):
            return "Converting bundled weights on first use…"
    return f"Loading {ref or 'the default model'}…"


# Room for the four input apps' default models (preloaded, see shared.ui.preload), the other
# EfficientNet-Lite sizes of the Compare page and a few runs: about 2.5 GB at most on CPU.
MAX_LOADED_MODELS = 8


@st.cache_resource(show_spinner=False, max_entries=MAX_LOADED_MODELS)
def _load_model(_loader_fn, loader_name, ref):
    # `_loader_fn` is not hashed (leading underscore); `loader_name` keeps two apps' loaders
    # apart when they are given the same reference string.
    return _loader_fn(ref)


def _loader_name(loader_fn):
    return f"{loader_fn.__module__}.{getattr(loader_fn, '__qualname__', loader_fn)}"


def load_once(loader_fn, ref):
    """``loader_fn(ref)`` through the process-wide model cache (no Streamlit elements)."""
    model = _load_model(loader_fn, _loader_name(loader_fn), ref)
    try:
        _LOADED[(_loader_name(loader_fn), ref)] = model
    except TypeError:  # not weakly referenceable: the spinner shows every time
        pass
    return model


# (loader, ref) -> the loaded model while it lives: a model known loaded is fetched from the
# cache without a spinner (each spinner starts a timer thread, on every run).
_LOADED = weakref.WeakValueDictionary()


def _offline_hint(spec, error):
    if spec is None or "Offline choices" in str(error):
        return "Pick a model marked offline in the model list."
    try:
        choices = offline_choices(spec)
    except (OSError, ValueError):
        return None
    return f"Models that work offline: {', '.join(choices)}."


def cached_model(loader_fn, ref, *, spec=None, spinner=None):
    """Load ``loader_fn(ref)`` once per process (``st.cache_resource``, keyed by ``ref``).

    Args:
        loader_fn: e.g. ``Predictor.load``; called with the reference only.
        ref: the model reference string.
        spec: the app's ``AppSpec``, to name the offline choices when loading fails.
        spinner: spinner text; by default it says whether bundled weights are converting.

    Returns:
        The loaded object, or None after showing an ``st.error`` that says what to do.
    """
    try:
        if (_loader_name(loader_fn), ref) in _LOADED:
            return load_once(loader_fn, ref)
        with st.spinner(spinner or loading_message(spec, ref)):
            return load_once(loader_fn, ref)
    except ValueError as error:  # OfflineError, unknown reference, incomplete run...
        show_error(error, hint=_offline_hint(spec, error))
    except Exception as error:  # a page shows a message, never a traceback
        _LOG.exception("loading model %r failed", ref)
        show_error(
            f"Could not load {ref!r}: {type(error).__name__}: {error}",
            hint=_offline_hint(spec, error),
        )
    return None
