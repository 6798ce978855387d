"""Keep Keras' state between Streamlit script runs.

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
