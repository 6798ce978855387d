"""Keep Keras' state between Streamlit script runs, and sessions from waiting for each other.

After every script run, Streamlit calls ``keras.backend.clear_session()`` (its
``_clean_problem_modules``, written for apps that build a new model on each run). With the
TensorFlow backend that clears the eager kernel cache and runs a full garbage collection, so
the first call of every cached model in the next run instantiates its graph function again:
300-500 ms for EfficientNet-Lite0 on 2 cores and seconds for several models, on every click.
It also clears that cache while other sessions may be predicting.

Here models are loaded once per process (``st.cache_resource``) and no page builds Keras
models per run, so the cleanup keeps Streamlit's other step (closing matplotlib figures)
and leaves Keras alone.
"""

import logging
import sys

from streamlit import config
from streamlit import runtime as streamlit_runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

_LOG = logging.getLogger(__name__)
streamlit_cleanup = None  # Streamlit's own cleanup, once replaced


def _close_matplotlib_figures():
    """Streamlit's cleanup without ``keras.backend.clear_session()``."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        try:
            pyplot.close("all")
        except Exception:  # noqa: BLE001 - as Streamlit: never fail a run over cleanup
            _LOG.debug("closing matplotlib figures failed", exc_info=True)


def keep_keras_state_between_runs():
    """Replace Streamlit's per-run cleanup (idempotent); False when Streamlit has none."""
    try:
        from streamlit.runtime.scriptrunner import script_runner
    except ImportError:
        return False
    global streamlit_cleanup
    current = getattr(script_runner, "_clean_problem_modules", None)
    if current is None:
        return False
    if current is not _close_matplotlib_figures:
        streamlit_cleanup = current
        script_runner._clean_problem_modules = _close_matplotlib_figures
    return True


# Streamlit's defaults that make every session wait for the others on a server that holds
# Keras models: a full garbage collection after each script run (0.4-0.6 s over the models'
# half a million objects, the interpreter stopped for every session) and, per session, a
# source watcher that after a run stats each of the 4,500 imported modules' files on the
# server's event loop, the one thread that sends every session its page. Measured with 20
# sessions at once: every page, Home included, arrived at the same instant, 16 s late.
SIDE_BY_SIDE_OPTIONS = {"server.fileWatcherType": "none", "runner.postScriptGC": False}


def serve_users_side_by_side():
    """Turn both off unless the server was started with them set (idempotent).

    A developer who wants pages to reload on save starts the server with
    ``--server.fileWatcherType auto``; that choice is kept. Returns the options now in force.
    """
    for key, value in SIDE_BY_SIDE_OPTIONS.items():
        if config.get_where_defined(key) == config.ConfigOption.DEFAULT_DEFINITION:
            config.set_option(key, value, where_defined=__name__)
    if config.get_option("server.fileWatcherType") == "none":
        _close_session_watcher()
    return {key: config.get_option(key) for key in SIDE_BY_SIDE_OPTIONS}


def _close_session_watcher():
    """Close the source watcher of the running session: sessions that connected before the
    options changed (the first users of a fresh server) were given one."""
    context = get_script_run_ctx(suppress_warning=True)
    if context is None or not streamlit_runtime.exists():
        return
    session = streamlit_runtime.get_instance().get_app_session(context.session_id)
    watcher = getattr(session, "_local_sources_watcher", None)
    if watcher is not None:
        watcher.close()  # its walk over the modules returns at once from now on
