"""Is this machine otherwise idle? CPU use of other processes, for benchmarks on shared machines.

``LoadMeter`` gives the share of the machine's CPU time that OTHER processes used while this one
ran (from /proc/stat and ``os.times``); ``busy_processes`` lists the processes above a CPU
threshold right now (``ps``); ``wait_for_competitor`` waits, up to a limit, while another
benchmark (matched by its command line with ``pgrep -f``) is still running.
"""

import os
import subprocess
import time


def cpu_times():
    """``(busy, total)`` jiffies of all CPUs from /proc/stat (``None`` where there is none)."""
    try:
        with open("/proc/stat") as file:
            values = [int(value) for value in file.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


class LoadMeter:
    """Share of the machine's CPU time used by OTHER processes while this one ran."""

    def __init__(self):
        self.start = (cpu_times(), os.times(), time.perf_counter())

    def others_fraction(self):
        (start_cpu, start_own, start_wall), end_cpu = self.start, cpu_times()
        if start_cpu is None or end_cpu is None:
            return None
        hertz = os.sysconf("SC_CLK_TCK")
        end_own = os.times()
        busy = (end_cpu[0] - start_cpu[0]) / hertz
        own = (end_own.user - start_own.user) + (end_own.system - start_own.system)
        capacity = (time.perf_counter() - start_wall) * (os.cpu_count() or 1)
        return max(busy - own, 0.0) / capacity


def busy_processes(threshold=20.0):
    """Other processes above ``threshold`` % CPU right now (``ps``), as short strings."""
    try:
        listing = subprocess.run(
            ["ps", "-eo", "pid,pcpu,args", "--sort=-pcpu", "--no-headers"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    rows = []
    for line in listing.splitlines():
        pid, pcpu, args = line.split(None, 2)
        if int(pid) != os.getpid() and float(pcpu) >= threshold:
            rows.append(f"{pid} {pcpu}% {args[:80]}")
    return rows


def wait_for_competitor(competitor, max_minutes, poll_seconds=30):
    """Wait (at most ``max_minutes``) while ``competitor`` (a command-line fragment,
    e.g. another benchmark's module) runs; returns what happened."""
    began = time.perf_counter()
    while True:
        running = subprocess.run(["pgrep", "-f", competitor], capture_output=True).returncode == 0
        waited = time.perf_counter() - began
        if not running or waited >= 60 * max_minutes:
            return {
                "competitor": competitor,
                "waited_s": round(waited, 1),
                "still_running": running,
            }
        print(f"waiting for {competitor} to finish ({waited:.0f} s so far)", flush=True)
        time.sleep(poll_seconds)
