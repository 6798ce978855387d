"""Tests for shared.cache: atomic, convert-once preset conversion."""

import pytest

from shared import cache


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV, str(path))
    return path


def _leftovers(cache_dir):
    presets = cache_dir / "presets"
    return sorted(path.name for path in presets.iterdir()) if presets.is_dir() else []


def test_cache_root_honours_environment(cache_dir, tmp_path, monkeypatch):
    assert cache.cache_root() == cache_dir
    assert cache.cached_preset_dir("lite") == cache_dir / "presets" / "lite"
    monkeypatch.delenv(cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_root() == tmp_path / "xdg" / "transferzoo"


def test_converts_once_then_reuses(cache_dir):
    calls = []

    def convert(directory):
        calls.append(directory)
        assert directory.is_dir() and not any(directory.iterdir())
        assert directory.parent == cache_dir / "presets"  # same filesystem: rename is atomic
        (directory / "model.weights.h5").write_text("weights")

    first = cache.ensure_converted("lite-v1", convert)
    second = cache.ensure_converted("lite-v1", convert)
    assert first == second == cache_dir / "presets" / "lite-v1"
    assert len(calls) == 1
    assert (first / "model.weights.h5").read_text() == "weights"
    assert _leftovers(cache_dir) == ["lite-v1"]


def test_failed_convert_leaves_nothing(cache_dir):
    def convert(directory):
        (directory / "config.json").write_text("{}")
        raise RuntimeError("converter crashed halfway")

    with pytest.raises(RuntimeError, match="halfway"):
        cache.ensure_converted("lite-v1", convert)
    assert not cache.cached_preset_dir("lite-v1").exists()
    assert _leftovers(cache_dir) == []

    # The next attempt starts clean and succeeds.
    target = cache.ensure_converted("lite-v1", lambda d: (d / "ok").write_text("ok"))
    assert sorted(path.name for path in target.iterdir()) == ["ok"]


def test_lost_race_keeps_one_complete_copy(cache_dir):
    target = cache.cached_preset_dir("lite-v1")

    def convert(directory):
        (directory / "model.weights.h5").write_text("ours")
        # Another process finishes the same conversion while this one is still writing.
        target.mkdir()
        (target / "model.weights.h5").write_text("theirs")

    assert cache.ensure_converted("lite-v1", convert) == target
    assert sorted(path.name for path in target.iterdir()) == ["model.weights.h5"]
    assert (target / "model.weights.h5").read_text() == "theirs"
    assert _leftovers(cache_dir) == ["lite-v1"]
