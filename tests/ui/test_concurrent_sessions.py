"""Users of one server do not wait for each other.

Two Streamlit defaults made every page, Home included, wait for all the pages being computed
at the same time (``shared.ui.runtime.serve_users_side_by_side``); and model loads and model
calls must never share one lock. Structure only, no timings: a barrier that two calls reach
together proves they were in flight at once (its timeout only keeps a regression from
hanging the run).
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from shared.ui import runtime, widgets
from shared.ui.runtime import SIDE_BY_SIDE_OPTIONS, serve_users_side_by_side

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
BARRIER_TIMEOUT_S = 60


@pytest.fixture
def streamlit_defaults():
    """The options at Streamlit's defaults, as on a server started without flags; restored."""
    saved = {key: (config.get_option(key), config.get_where_defined(key)) for key in OPTIONS}
    for key in OPTIONS:
        option = config._config_options[key]
        config._set_option(key, option.default_val, config.ConfigOption.DEFAULT_DEFINITION)
    yield
    for key, (value, where) in saved.items():
        config._set_option(key, value, where)


OPTIONS = tuple(SIDE_BY_SIDE_OPTIONS)


@pytest.mark.usefixtures("streamlit_defaults")
def test_the_router_turns_off_what_stops_every_user():
    assert config.get_option("runner.postScriptGC") is True  # Streamlit's default
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert not config.get_option("runner.postScriptGC")
    assert config.get_option("server.fileWatcherType") == "none"


@pytest.mark.usefixtures("streamlit_defaults")
def test_a_watcher_asked_for_on_the_command_line_is_kept():
    config._set_option("server.fileWatcherType", "poll", "command-line argument or env var")
    assert serve_users_side_by_side() == {
        "server.fileWatcherType": "poll",
        "runner.postScriptGC": False,
    }


@pytest.mark.usefixtures("streamlit_defaults")
def test_a_user_connected_before_the_first_run_loses_its_watcher(monkeypatch):
    closed = []
    session = SimpleNamespace(
        _local_sources_watcher=SimpleNamespace(close=lambda: closed.append(1))
    )
    server = SimpleNamespace(get_app_session=lambda session_id: session)
    monkeypatch.setattr(runtime, "get_script_run_ctx", lambda **_: SimpleNamespace(session_id="a"))
    monkeypatch.setattr(runtime.streamlit_runtime, "exists", lambda: True)
    monkeypatch.setattr(runtime.streamlit_runtime, "get_instance", lambda: server)
    serve_users_side_by_side()
    assert closed == [1]


class MeetingLoader:
    """``load(ref)`` returns a model whose calls, like the loads, wait for a second one."""

    def __init__(self, name):
        self.meet = threading.Barrier(2, timeout=BARRIER_TIMEOUT_S)
        self.__module__, self.__qualname__ = __name__, name  # its own cache entries

    def __call__(self, ref):
        self.meet.wait()  # a load that held a lock over all loads would never meet another
        return SimpleNamespace(predict=lambda x: (self.meet.wait(), x)[1])


def test_two_models_load_at_once():
    widgets._load_model.clear()
    loader = MeetingLoader("MeetingLoader.load")
    with ThreadPoolExecutor(2) as pool:
        models = list(pool.map(lambda ref: widgets.load_once(loader, ref), ("run:a", "run:b")))
    assert models[0] is not models[1]


def test_two_users_call_one_cached_model_at_once():
    widgets._load_model.clear()
    loader = MeetingLoader("MeetingLoader.call")
    with ThreadPoolExecutor(2) as pool:  # the load meets the main thread, then the two calls
        model = pool.submit(widgets.load_once, loader, "run:shared")
        loader.meet.wait()
        model = model.result()
        calls = [pool.submit(widgets.cached_model(loader, "run:shared").predict, n) for n in (1, 2)]
        assert [call.result() for call in calls] == [1, 2]
    widgets._load_model.clear()
