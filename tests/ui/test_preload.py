"""Background loading of the default models at server start (``shared.ui.preload``)."""

from apps import APPS
from shared.ui import preload
from shared.ui.widgets import load_once


def test_default_models_are_the_input_apps_defaults():
    models = preload.default_models(APPS)
    expected = {spec.name: spec.default_model for spec in APPS if spec.default_model is not None}
    assert set(expected) == {"image_classify", "detection", "speech", "translate", "gan"}
    assert {name: ref for name, _, ref in models} == expected
    assert all(loader.__qualname__ == "Predictor.load" for _, loader, _ in models)


def test_preloaded_models_are_the_ones_pages_get(monkeypatch):
    calls = []

    def fake_load(ref):
        calls.append(ref)
        return object()

    def failing_load(ref):
        raise ValueError("no network")

    monkeypatch.setattr(
        preload,
        "default_models",
        lambda specs: [("fake", fake_load, "bundled:fake"), ("bad", failing_load, "bundled:bad")],
    )
    monkeypatch.setenv(preload.PRELOAD_ENV, "1")
    preload._start_once.clear()
    try:
        threads = preload.preload_default_models(APPS)
        assert len(threads) == 1
        for thread in threads:
            thread.join(30)
        first = load_once(fake_load, "bundled:fake")
        assert load_once(fake_load, "bundled:fake") is first and calls == ["bundled:fake"]
        assert preload.preload_default_models(APPS) is threads  # once per process
    finally:
        preload._start_once.clear()


def test_preloading_can_be_turned_off(monkeypatch):
    for value in ("0", "off", "false"):
        monkeypatch.setenv(preload.PRELOAD_ENV, value)
        assert not preload.preload_enabled() and preload.preload_default_models(APPS) == []
    monkeypatch.delenv(preload.PRELOAD_ENV)
    assert preload.preload_enabled()
