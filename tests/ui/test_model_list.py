"""The model lists of every page: what works offline first, hub presets grouped after them."""

import pytest

from apps import APPS
from shared.ui import widgets

SPECS = [spec for spec in APPS if spec.hub_presets]


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_offline_models_come_first_and_hub_presets_last(spec, runs_dir):
    refs = [ref for ref, _ in widgets.model_choices(spec, runs_dir=runs_dir)]
    offline = [f"bundled:{name}" for name in spec.bundled]
    assert refs == offline + list(spec.hub_presets)
    labels = dict(widgets.model_choices(spec, runs_dir=runs_dir))
    assert all("needs network" in labels[preset] for preset in spec.hub_presets)
    assert all("needs network" not in labels[ref] for ref in offline)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_hub_presets_are_left_out_when_not_online(spec, runs_dir):
    refs = [ref for ref, _ in widgets.model_choices(spec, runs_dir=runs_dir, online=False)]
    assert refs == [f"bundled:{name}" for name in spec.bundled]
    assert spec.default_model in refs


def test_online_the_hub_presets_are_offered_without_a_toggle(monkeypatch):
    monkeypatch.setattr(widgets, "is_offline", lambda: False)
    assert widgets.show_online_models("any_key") is True
