"""Load every input app's default model in the background when the server starts.

The first page a user opens would otherwise wait for its model (10-15 s on 2 CPU cores), and
a chain of apps for each of them in turn. Once per server process, the first script run
starts a thread that puts each default model, one after another, into the cache the pages use
(``shared.ui.widgets.load_once``), so a page asking for it meanwhile waits for that load
instead of starting another. ``TRANSFERZOO_PRELOAD=0`` turns it off (the tests do): models
then load when a page first needs them. Failures are logged, never shown: the page that
needs the model tries again and says what went wrong.
"""

import logging
import os
import threading

import streamlit as st

from shared.ui.widgets import load_once

PRELOAD_ENV = "TRANSFERZOO_PRELOAD"
_LOG = logging.getLogger(__name__)


def preload_enabled():
    """False when ``$TRANSFERZOO_PRELOAD`` is 0, no, false or off."""
    return os.environ.get(PRELOAD_ENV, "1").strip().lower() not in ("0", "no", "false", "off")


def default_models(specs):
    """``[(app name, Predictor.load, default reference)]`` of the apps with a default model."""
    return [
        (spec.name, spec.predictor.load, spec.default_model)
        for spec in specs
        if spec.default_model is not None
    ]


def _load(name, loader, ref):
    try:
        load_once(loader, ref)
        _LOG.info("preloaded %s (%s)", ref, name)
    except Exception:  # noqa: BLE001 - the page that needs it will say what went wrong
        _LOG.warning("preloading %s (%s) failed", ref, name, exc_info=True)


@st.cache_resource(show_spinner=False)
def _start_once(_models):
    """The preload thread, started by the first script run of the process (in a list)."""
    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    thread = threading.Thread(target=_load_all, args=(_models,), name="preload-models", daemon=True)
    add_script_run_ctx(thread, get_script_run_ctx())  # the cache works without one, but warns
    thread.start()
    return [thread]


def _load_all(models):
    """One model after another, in the apps' order: on a small CPU, loads side by side
    would each take longer and delay the first page's result (measured: 17 s → 20 s)."""
    for name, loader, ref in models:
        _load(name, loader, ref)


def preload_default_models(specs):
    """Start the background loads of ``specs``' default models once per process (no-op when
    turned off); the threads."""
    if not preload_enabled():
        return []
    return _start_once(default_models(specs))
