"""A real Streamlit server on a free localhost port and a headless Chromium driving it.

Skips, saying why, when Debian's ``chromium`` / ``chromium-driver`` or Python's selenium are
absent (``.ci/run`` installs them when it runs as root).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS_ENV = "TRANSFERZOO_SCREENSHOTS_DIR"  # also write the README's screenshots there
START_TIMEOUT_S = 90
WINDOW = (1500, 1900)


def _missing():
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -r requirements-dev.txt)")
    return missing


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(url, process, log_path):
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"streamlit did not answer in {START_TIMEOUT_S} s")


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    """Where screenshots and the server log go (a pytest temp dir)."""
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="session")
def server(artifacts):
    """``streamlit run streamlit_app.py`` on a free localhost port; yields its base URL."""
    missing = _missing()
    if missing:
        pytest.skip(
            f"browser tests need {', '.join(missing)} (apt-get install chromium chromium-driver)"
        )
    port = _free_port()
    log_path = artifacts / "streamlit.log"
    command = [
        *(sys.executable, "-m", "streamlit", "run", "streamlit_app.py"),
        *("--server.headless", "true", "--server.port", str(port)),
        *("--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"),
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log_path)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def niced_chromium(artifacts):
    """Chromium started at a low priority: on a small machine, the browser drawing a page
    would otherwise compete with the server's model for the same cores and inflate the
    latencies the pages show several times over."""
    wrapper = artifacts / "chromium-niced"
    wrapper.write_text(f'#!/bin/sh\nexec nice -n 15 {shutil.which("chromium")} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


@pytest.fixture
def browser(server, niced_chromium):
    """A headless Chromium (Debian's, with its own chromedriver: nothing is downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(niced_chromium)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--mute-audio"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshot(browser, artifacts):
    """``screenshot(name)``: a PNG in the artifacts dir, and in $TRANSFERZOO_SCREENSHOTS_DIR."""

    def take(name):
        path = artifacts / f"{name}.png"
        browser.save_screenshot(str(path))
        if os.environ.get(SCREENSHOTS_ENV):
            target = Path(os.environ[SCREENSHOTS_ENV])
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / path.name)
        return path

    return take


@pytest.fixture
def media_browser(server, niced_chromium):
    """``media_browser(*flags)``: a headless Chromium whose camera and microphone are
    Chromium's fake devices (a moving test pattern and a beep) or, with
    ``--use-file-for-fake-video-capture=…`` / ``--use-file-for-fake-audio-capture=…`` among
    ``flags``, those files (looped); permission prompts are answered yes."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers = []

    def start(*flags):
        options = webdriver.ChromeOptions()
        options.binary_location = str(niced_chromium)
        for argument in (
            *("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--mute-audio"),
            *("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"),
            *flags,
        ):
            options.add_argument(argument)
        options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
        driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
        driver.set_page_load_timeout(60)
        drivers.append(driver)
        return driver

    try:
        yield start
    finally:
        for driver in drivers:
            driver.quit()
