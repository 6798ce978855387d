"""Opening the app's pages in ``streamlit.testing.v1.AppTest`` (shared by the page tests)."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
TIMEOUT = 180


def open_page(page=None, *, timeout=TIMEOUT, radio=None, **query):
    """The app run once on Home, then switched to ``page`` with ``query`` in its URL, then
    (``radio=(key, value)``) one radio set; each step without an exception."""
    at = AppTest.from_file(APP, default_timeout=timeout).run(timeout=timeout)
    if page is not None:
        at.query_params.update(query)
        at.switch_page(page).run(timeout=timeout)
    assert not at.exception, at.exception
    if radio is not None:
        key, value = radio
        at.radio(key=key).set_value(value).run(timeout=timeout)
        assert not at.exception, at.exception
    return at
