"""Streamlit's per-run cleanup leaves Keras' state (and the models' compiled kernels) alone."""

from pathlib import Path

import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from streamlit.runtime.scriptrunner import script_runner  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from shared.ui import runtime  # noqa: E402
from shared.ui.runtime import keep_keras_state_between_runs  # noqa: E402

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


def test_cleanup_after_a_run_no_longer_clears_the_keras_session(monkeypatch):
    cleared = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: cleared.append(1))
    streamlits = runtime.streamlit_cleanup or script_runner._clean_problem_modules
    monkeypatch.setattr(script_runner, "_clean_problem_modules", streamlits)
    streamlits()
    assert cleared, "Streamlit no longer clears the Keras session: shared.ui.runtime can go"
    cleared.clear()
    assert keep_keras_state_between_runs()
    assert keep_keras_state_between_runs()  # idempotent
    plt.figure()
    script_runner._clean_problem_modules()
    assert not cleared
    assert not plt.get_fignums()  # Streamlit's other cleanup is kept


def test_the_router_installs_it(monkeypatch):
    streamlits = runtime.streamlit_cleanup or script_runner._clean_problem_modules
    monkeypatch.setattr(script_runner, "_clean_problem_modules", streamlits)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert script_runner._clean_problem_modules is not streamlits
