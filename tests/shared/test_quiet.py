"""TensorFlow loads without its native log lines on a command's stderr."""

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.parametrize("inherited_level", [None, "3"])  # "3": a job the server started
def test_importing_the_apps_prints_nothing_on_stderr(inherited_level):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    if inherited_level:
        env["TF_CPP_MIN_LOG_LEVEL"] = inherited_level
    code = "import apps, keras, tensorflow as tf; tf.config.list_physical_devices(); print('ok')"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and result.stdout == "ok\n"
    assert result.stderr == ""  # no oneDNN, CUDA-driver, cuInit or absl banner lines
