"""Many users at once: N sessions over the pages of one ``streamlit run`` server.

``python -m bench.concurrent_sessions [--sessions N] [--window S] [--port P] [--out FILE]``
writes ``bench/results/concurrent_sessions.json`` (or FILE); 2-4 minutes.

Each session speaks Streamlit's own websocket protocol, as the browser does (``BackMsg``
rerun requests in, ``ForwardMsg`` deltas out, on ``/_stcore/stream``), so twenty of them
cost the 2-core machine next to nothing, where twenty Chromiums would measure themselves.
A session opens one page (sessions are dealt over the ten pages in turn) and a request's time
is from the request to the page's first result: the top class, the detections, the
transcript, the translation, the GAN's grid, or, on pages without a model, the page's last
element.

Four rounds on one server, started fresh (``TRANSFERZOO_OFFLINE=1``, converted weights
cached under ``$TRANSFERZOO_CACHE``, models preloaded in the background as in production):
- cold: N sessions opened at the same instant, as the server starts;
- alone: each page in one session by itself (models loaded), opened, then run again
  ``ALONE_RERUNS`` times: the single-user times of a first visit and of a rerun;
- warm (the burst): N sessions opened at the same instant again;
- steady: N sessions open side by side for ``--window`` seconds, each running its page again
  and again after a think time drawn uniformly from ``THINK_S`` (seeded), as users who read
  a result before the next click; every request is timed.
Ratios are each request's time over its page's alone time (a first visit over the alone
visit, a rerun over the alone rerun). The server's results cache (``shared.ui.result_cache``)
is warm after the cold round, in the alone round as in the others: what a user of a running
server sees. Peak memory is the server's peak resident set, sampled every 0.2 s with psutil;
``others_cpu_share`` is the share of the machine's CPU that other processes (not this bench,
not its server) used during the run; ``server_cpu_s`` the server's CPU seconds per round.
"""

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import common
from bench.cold_start_browser import PeakMemory, _healthy, free_port, wait_until
from bench.machine_load import LoadMeter, busy_processes
from bench.streamlit_client import connect, request

NAME = "concurrent_sessions"
ROOT = Path(__file__).resolve().parent.parent
ALONE_RERUNS = 3
THINK_S = (1.0, 4.0)
WINDOW_S = 45
SEED = 0
# (page's URL path, query string, text of the delta that is its first result)
PAGES = (
    ("", "", "Default model: `bundled:whisper_tiny_en`"),  # Home: the speech card
    ("image_classify", "sample=chelsea", 'label: "Top class"'),
    ("detection", "sample=coffee", 'label: "Detections"'),
    ("speech", "", 'label: "Real-time factor"'),
    ("translate", "", "Type or paste some text"),
    ("gan", "", "16 samples, seed 0"),  # the bundled face generator's grid
    ("compare", "", 'body: "Summary"'),
    ("chains", "", "Translated ("),
    ("train", "", "No training jobs yet"),
    ("runs", "", "No runs yet"),
)


async def open_page(port, page, query, marker, reruns=0):
    """A new session on ``page``: ``([seconds of the first visit, of each rerun], errors)``."""
    async with connect(port) as socket:
        times, errors = [], []
        for _ in range(1 + reruns):
            seconds, seen = await request(socket, page, query, marker)
            times.append(seconds)
            errors += seen
        return times, errors


async def steady_user(port, page, rng, until):
    """One session on ``page`` running it, thinking, running it again until ``until``;
    ``[(seconds, is_rerun, errors)]``."""
    rows = []
    await asyncio.sleep(rng.uniform(0, THINK_S[1]))  # users arrive spread out, not together
    async with connect(port) as socket:
        while time.perf_counter() < until:
            seconds, errors = await request(socket, *page)
            rows.append((seconds, bool(rows), errors))
            await asyncio.sleep(rng.uniform(*THINK_S))
    return rows


async def steady_round(port, count, window):
    """``count`` sessions side by side for ``window`` s: [(page, seconds, is_rerun, errors)]."""
    rng = random.Random(SEED)
    chosen = [PAGES[index % len(PAGES)] for index in range(count)]
    until = time.perf_counter() + window
    users = [steady_user(port, page, random.Random(rng.random()), until) for page in chosen]
    results = await asyncio.gather(*users)
    return [
        (page[0] or "home", round(seconds, 3), rerun, errors)
        for page, rows in zip(chosen, results)
        for seconds, rerun, errors in rows
    ]


async def sessions_at_once(port, count):
    """``count`` sessions dealt over ``PAGES``, all started together; [(page, s, errors)]."""
    chosen = [PAGES[index % len(PAGES)] for index in range(count)]
    results = await asyncio.gather(*(open_page(port, *page) for page in chosen))
    return [
        (page[0] or "home", round(times[0], 3), errors)
        for page, (times, errors) in zip(chosen, results)
    ]


def start_server(port):
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py"]
    command += ["--server.headless", "true", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def measure(port, count, window):
    """The four rounds on one fresh server; its peak RSS in MB; its CPU seconds per round."""
    import psutil

    server = start_server(port)
    memory = PeakMemory(server.pid)
    memory.start()
    rounds, cpu = {}, {}
    try:
        wait_until(lambda: _healthy(f"http://127.0.0.1:{port}"), "the server")
        process = psutil.Process(server.pid)
        for name, work in (
            ("cold", lambda: sessions_at_once(port, count)),
            ("alone", lambda: alone_pages(port)),
            ("warm", lambda: sessions_at_once(port, count)),
            ("steady", lambda: steady_round(port, count, window)),
        ):
            before = sum(process.cpu_times()[:2])
            rounds[name] = asyncio.run(work())
            cpu[name] = round(sum(process.cpu_times()[:2]) - before, 2)
        cpu["whole run"] = round(sum(process.cpu_times()[:2]), 2)
    finally:
        memory.running = False
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    return rounds, round(memory.peak / 2**20), cpu


async def alone_pages(port):
    return [await alone_page(port, page) for page in PAGES]


async def alone_page(port, page):
    """``(page, first visit s, median rerun s, errors)`` of one session by itself."""
    times, errors = await open_page(port, *page, reruns=ALONE_RERUNS)
    return page[0] or "home", round(times[0], 3), round(statistics.median(times[1:]), 3), errors


def quantile(values, q):
    """The ``q`` quantile of ``values`` (linear between the closest ranks)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio_figures(ratios):
    return {
        "median_ratio_to_alone": round(statistics.median(ratios), 2),
        "p90_ratio_to_alone": round(quantile(ratios, 0.9), 2),
        "max_ratio_to_alone": round(max(ratios), 2),
    }


def round_summary(rows, alone_of):
    """Per page and overall: median seconds, median and p90 ratios; ``alone_of(row)``."""
    pages = {}
    for row in rows:
        pages.setdefault(row[0], []).append((row[1], row[1] / alone_of(row)))
    per_page = {
        page: {
            "requests": len(pairs),
            "median_s": round(statistics.median(s for s, _ in pairs), 3),
            "median_ratio": round(statistics.median(r for _, r in pairs), 2),
            "p90_ratio": round(quantile([r for _, r in pairs], 0.9), 2),
        }
        for page, pairs in pages.items()
    }
    seconds = [row[1] for row in rows]
    return {
        "requests": len(rows),
        **ratio_figures([row[1] / alone_of(row) for row in rows]),
        "spread_s": [min(seconds), max(seconds)],
        "errors": sum(len(row[-1]) for row in rows),
        "per_page": per_page,
    }


def summary(rounds):
    visit = {page: first for page, first, _, _ in rounds["alone"]}
    rerun = {page: again for page, _, again, _ in rounds["alone"]}
    result = {"alone_first_visit_s": visit, "alone_rerun_s": rerun}
    for name in ("cold", "warm"):  # cold includes the models' first loads, alone does not
        result[name] = round_summary(rounds[name], lambda row: visit[row[0]])
    result["steady"] = round_summary(
        rounds["steady"], lambda row: (rerun if row[2] else visit)[row[0]]
    )
    return result


def error_samples(rounds, count=5):
    """A few of the distinct errors the pages showed (none on a clean run)."""
    seen = {error[:200] for rows in rounds.values() for row in rows for error in row[-1]}
    return sorted(seen)[:count]


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.concurrent_sessions", description=__doc__
    )
    parser.add_argument("--sessions", type=int, default=20, help="sessions at once")
    parser.add_argument("--window", type=float, default=WINDOW_S, help="steady round, s")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--out", default=None, help="JSON path (default: bench/results/)")
    args = parser.parse_args(argv)
    common.setup_environment()
    busy = busy_processes()
    load, started = LoadMeter(), time.perf_counter()
    rounds, peak_mb, cpu = measure(args.port or free_port(), args.sessions, args.window)
    others = load.others_fraction()
    if others is not None:  # the server is this run's too
        capacity = (time.perf_counter() - started) * (os.cpu_count() or 1)
        others = max(others - cpu.get("whole run", 0) / capacity, 0.0)
    payload = {
        "benchmark": NAME,
        "machine": common.machine_info(),
        "sessions": args.sessions,
        "steady_window_s": args.window,
        "think_s": list(THINK_S),
        "preload": os.environ.get("TRANSFERZOO_PRELOAD", "1"),
        "others_cpu_share": None if others is None else round(others, 3),
        "busy_processes_at_start": busy,
        "summary": summary(rounds),
        "rounds": {name: [list(row[:-1]) for row in rows] for name, rows in rounds.items()},
        "server_peak_rss_mb": peak_mb,
        "server_cpu_s": cpu,  # the server process's CPU seconds in each round
        "error_samples": error_samples(rounds),
        "note": "websocket sessions; seconds from each request to its page's first result",
    }
    path = common.write_results(NAME, payload, args.out)
    report(payload, args.sessions, path)
    return 0


def report(payload, sessions, path):
    figures = payload["summary"]
    rows = [
        (
            page,
            first,
            figures["alone_rerun_s"][page],
            figures["warm"]["per_page"][page]["median_s"],
            figures["steady"]["per_page"][page]["median_s"],
            figures["steady"]["per_page"][page]["p90_ratio"],
        )
        for page, first in figures["alone_first_visit_s"].items()
    ]
    common.print_table(
        ("page", "alone s", "rerun s", f"burst ×{sessions} s", "steady s", "steady p90 ×"), rows
    )
    line = "; ".join(
        f"{name} median ×{figures[name]['median_ratio_to_alone']} "
        f"p90 ×{figures[name]['p90_ratio_to_alone']}"
        for name in ("cold", "warm", "steady")
    )
    errors = sum(figures[name]["errors"] for name in ("cold", "warm", "steady"))
    print(
        f"ratio to alone: {line}; errors {errors}; server peak RSS "
        f"{payload['server_peak_rss_mb']} MB; other processes' CPU "
        f"{payload['others_cpu_share']}; server CPU s per round {payload['server_cpu_s']}; "
        f"wrote {path}"
    )


if __name__ == "__main__":
    sys.exit(main())
