"""Shared set-up of the AppTest page tests."""

import pytest


@pytest.fixture(scope="module", autouse=True)
def offline_environment(tmp_path_factory):
    """No network, and cache/runs in temp dirs so the tests never write into the home dir."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRANSFERZOO_OFFLINE", "1")
        patch.setenv("TRANSFERZOO_CACHE", str(tmp_path_factory.mktemp("cache")))
        patch.setenv("TRANSFERZOO_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))
        yield
