"""Many users at once: N sessions over the pages of one ``streamlit run`` server.

``python -m bench.concurrent_sessions [--sessions N] [--port P] [--out FILE]`` writes
``bench/results/concurrent_sessions.json`` (or FILE).

Each session speaks Streamlit's own websocket protocol, as the browser does (``BackMsg``
rerun requests in, ``ForwardMsg`` deltas out, on ``/_stcore/stream``), so twenty of them
cost the 2-core machine next to nothing, where twenty Chromiums would measure themselves.
A session opens one page (sessions are dealt over the ten pages in turn) and its time is
from its request to the page's first result: the top class, the detections, the transcript,
the translation, or, on pages without a model, the page's last element.

Three rounds on one server, started fresh (``TRANSFERZOO_OFFLINE=1``, converted weights
cached under ``$TRANSFERZOO_CACHE``, models preloaded in the background as in production):
- cold: N sessions at once, as the server starts;
- alone: each page in one session by itself (models loaded), the single-user time;
- warm: N sessions at once again.
Peak memory is the server's peak resident set, sampled every 0.2 s with psutil.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import common
from bench.cold_start_browser import PeakMemory, _healthy, free_port, wait_until

NAME = "concurrent_sessions"
ROOT = Path(__file__).resolve().parent.parent
RESULT_TIMEOUT_S = 600
# (page's URL path, query string, text of the delta that is its first result)
PAGES = (
    ("", "", "Default model: `bundled:whisper_tiny_en`"),  # Home: the speech card
    ("image_classify", "sample=chelsea", 'label: "Top class"'),
    ("detection", "sample=coffee", 'label: "Detections"'),
    ("speech", "", 'label: "Real-time factor"'),
    ("translate", "", "Type or paste some text"),
    ("gan", "", "No trained GAN yet"),
    ("compare", "", 'body: "Summary"'),
    ("chains", "", "Translated ("),
    ("train", "", "No training jobs yet"),
    ("runs", "", "No runs yet"),
)


async def open_page(port, page, query, marker):
    """Seconds from the rerun request to the delta containing ``marker``; errors seen."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    url = f"ws://127.0.0.1:{port}/_stcore/stream"
    async with websockets.connect(url, subprotocols=["streamlit"], max_size=None) as socket:
        request = BackMsg()
        request.rerun_script.query_string = query
        request.rerun_script.page_name = page
        started = time.perf_counter()
        await socket.send(request.SerializeToString())
        errors = []
        while True:
            message = ForwardMsg()
            message.ParseFromString(await asyncio.wait_for(socket.recv(), RESULT_TIMEOUT_S))
            kind = message.WhichOneof("type")
            text = str(message.delta) if kind == "delta" else ""
            if "exception {" in text or "format: ERROR" in text:
                errors.append(text[:300])
            if marker in text:
                return time.perf_counter() - started, errors
            if kind == "script_finished":
                raise RuntimeError(f"page {page!r} finished without {marker!r}: {errors}")


async def sessions_at_once(port, count):
    """``count`` sessions dealt over ``PAGES``, all started together; [(page, s, errors)]."""
    chosen = [PAGES[index % len(PAGES)] for index in range(count)]
    results = await asyncio.gather(*(open_page(port, *page) for page in chosen))
    return [(page[0] or "home", round(s, 2), errors) for page, (s, errors) in zip(chosen, results)]


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


def measure(port, count):
    """The three rounds (cold, alone, warm) on one fresh server, and its peak RSS in MB."""
    server = start_server(port)
    memory = PeakMemory(server.pid)
    memory.start()
    try:
        wait_until(lambda: _healthy(f"http://127.0.0.1:{port}"), "the server")
        cold = asyncio.run(sessions_at_once(port, count))
        alone = [asyncio.run(sessions_at_once_alone(port, page)) for page in PAGES]
        warm = asyncio.run(sessions_at_once(port, count))
    finally:
        memory.running = False
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    return {"cold": cold, "alone": alone, "warm": warm}, round(memory.peak / 2**20)


async def sessions_at_once_alone(port, page):
    seconds, errors = await open_page(port, *page)
    return page[0] or "home", round(seconds, 2), errors


def per_page(rows):
    """Page -> median seconds of the sessions on it."""
    pages = {}
    for page, seconds, _ in rows:
        pages.setdefault(page, []).append(seconds)
    return {page: round(statistics.median(times), 2) for page, times in pages.items()}


def summary(rounds):
    alone = per_page(rounds["alone"])
    result = {"alone_s": alone}
    for name in ("cold", "warm"):
        ratios = [row[1] / alone[row[0]] for row in rounds[name]]
        result[name] = {
            "per_page_median_s": per_page(rounds[name]),
            # cold includes the models' first loads, which alone (warm) does not
            "median_ratio_to_alone": round(statistics.median(ratios), 2),
            "max_ratio_to_alone": round(max(ratios), 2),
            "spread_s": [min(r[1] for r in rounds[name]), max(r[1] for r in rounds[name])],
            "errors": sum(len(row[2]) for row in rounds[name]),
        }
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.concurrent_sessions", description=__doc__
    )
    parser.add_argument("--sessions", type=int, default=20, help="sessions at once")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--out", default=None, help="JSON path (default: bench/results/)")
    args = parser.parse_args(argv)
    common.setup_environment()
    rounds, peak_mb = measure(args.port or free_port(), args.sessions)
    payload = {
        "benchmark": NAME,
        "machine": common.machine_info(),
        "sessions": args.sessions,
        "preload": os.environ.get("TRANSFERZOO_PRELOAD", "1"),
        "summary": summary(rounds),
        "rounds": {name: [list(row[:2]) for row in rows] for name, rows in rounds.items()},
        "server_peak_rss_mb": peak_mb,
        "note": "websocket sessions; seconds from each session's request to its first result",
    }
    path = common.write_results(NAME, payload, args.out)
    pages = payload["summary"]
    rows = [
        (
            page,
            s,
            pages["cold"]["per_page_median_s"][page],
            pages["warm"]["per_page_median_s"][page],
        )
        for page, s in pages["alone_s"].items()
    ]
    common.print_table(
        ("page", "alone s", f"cold ×{args.sessions} s", f"warm ×{args.sessions} s"), rows
    )
    print(
        f"median ratio to alone: cold {pages['cold']['median_ratio_to_alone']}, "
        f"warm {pages['warm']['median_ratio_to_alone']}; errors "
        f"{pages['cold']['errors'] + pages['warm']['errors']}; server peak RSS {peak_mb} MB; "
        f"wrote {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
