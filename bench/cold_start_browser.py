"""Cold start as a user sees it: ``streamlit run`` started, then pages opened in a browser.

``python -m bench.cold_start_browser [--repeats N] [--port P] [--out FILE]`` writes
``bench/results/cold_start_browser.json`` (or FILE). Needs Chromium and its driver
(``apt-get install chromium chromium-driver``) and selenium (``requirements-dev.txt``).

Headless Chromium is started first, so its own start is not counted. Then the clock starts
with ``streamlit run streamlit_app.py``, and one browser tab opens, in turn:
- Home, until its title shows;
- Image classification on the cat sample, until the top class shows;
- Object detection on the coffee sample, until the detection count shows;
- Chains, speech → translation on a sample clip, until transcript and translation show.

Each page's first use loads its models (converted weights cached, as on a deployed server).
Every time counts from the server process' start. Peak memory is the server's peak resident
set, sampled every 0.2 s with psutil. ``bench.cold_start`` is the same measurement without a
server or a browser: all four default models loaded at once.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from bench import common

NAME = "cold_start_browser"
ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 300
# (label, URL path, how to know the page served its first result: CSS and text in it)
PAGES = (
    ("home", "", ("h1", "TransferZoo")),
    (
        "image classification",
        "image_classify?sample=chelsea",
        ("[data-testid='stMetric']", "Top class"),
    ),
    ("object detection", "detection?sample=coffee", ("[data-testid='stMetric']", "Detections")),
    ("speech → translation", "chains", ("[data-testid='stCaptionContainer']", "Translated (")),
)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--mute-audio"):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))


class PeakMemory(threading.Thread):
    """The peak resident set of a process and its children, sampled in the background."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self):
        import psutil

        process = psutil.Process(self.pid)
        while self.running:
            try:
                tree = [process, *process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            time.sleep(0.2)


def wait_until(condition, what):
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not appear in {TIMEOUT_S} s")


def shown(driver, css, text):
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    try:
        return any(text in element.text for element in driver.find_elements(By.CSS_SELECTOR, css))
    except WebDriverException:  # the page re-rendered under us
        return False


def measure(port):
    """Start the server, open each page; seconds from the server's start, and peak RSS."""
    driver = start_browser()
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py"]
    command += ["--server.headless", "true", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    started = time.time()
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    memory = PeakMemory(server.pid)
    memory.start()
    url = f"http://127.0.0.1:{port}"
    timings = {}
    try:
        wait_until(lambda: _healthy(url), "the server")
        timings["server answering"] = round(time.time() - started, 2)
        for label, path, (css, text) in PAGES:
            driver.get(f"{url}/{path}")
            wait_until(lambda css=css, text=text: shown(driver, css, text), label)
            timings[label] = round(time.time() - started, 2)
            print(f"{label}: {timings[label]} s", flush=True)
    finally:
        memory.running = False
        driver.quit()
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    return timings, round(memory.peak / 2**30, 2)


def _healthy(url):
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start_browser", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="server starts (median kept)")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--out", default=None, help="JSON path (default: bench/results/)")
    args = parser.parse_args(argv)
    common.setup_environment()
    starts = [measure(args.port or free_port()) for _ in range(args.repeats)]
    timings = {label: statistics.median(run[0][label] for run in starts) for label in starts[0][0]}
    peak_gb = max(run[1] for run in starts)
    payload = {
        "benchmark": NAME,
        "machine": common.machine_info(),
        "preload": os.environ.get("TRANSFERZOO_PRELOAD", "1"),
        "median_seconds_from_server_start": timings,
        "runs": [{"seconds_from_server_start": run[0], "peak_rss_gb": run[1]} for run in starts],
        "server_peak_rss_gb": peak_gb,
        "note": "pages opened one after another in one headless Chromium tab; weights cached",
    }
    path = common.write_results(NAME, payload, args.out)
    common.print_table(("page", "first result (s from start, median)"), list(timings.items()))
    print(f"server peak RSS {peak_gb:.2f} GB; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
