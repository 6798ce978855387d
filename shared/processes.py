"""Detached processes on Linux: start one in its own session, tell whether it still runs (a
reused pid is not taken for it), and stop its whole process group.

``shared.jobs`` runs each training job this way, so that the job outlives the page that
started it and a cancel stops every process the job started.
"""

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path


def start_ticks(pid):
    """The start time of ``pid`` in clock ticks (Linux ``/proc``), None when unknown.

    Stored beside a pid so that a reused pid is never taken for the process.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else int(fields[19])  # a zombie is gone


def is_running(pid, ticks=None, child=None):
    """True while the process ``pid`` (started at ``ticks``) runs.

    ``child``: its ``Popen`` when this process started it (then reaped through it).
    """
    if child is not None:
        return child.poll() is None
    with contextlib.suppress(OSError):  # reap a child whose Popen this process lost
        os.waitpid(pid, os.WNOHANG)
    if Path("/proc").is_dir():
        now = start_ticks(pid)
        return now is not None and (ticks is None or now == ticks)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


# Runs before the command (same pid, through exec): Ctrl-C back to its default. A server
# started from a non-interactive shell with `&` or `nohup` ignores SIGINT, and an ignored
# signal stays ignored across exec, so a cancel could never stop the job cleanly.
# (A `preexec_fn` would do the same but is unsafe in a threaded server such as Streamlit.)
_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execvp(sys.argv[1], sys.argv[1:])"
)


def spawn_detached(command, log_path, *, cwd, env):
    """Start ``command`` in its own session (process group), output to ``log_path``.

    The command gets SIGINT's default action whatever this process inherited, so that
    ``stop_group(pid, SIGINT, ...)`` reaches it as a Ctrl-C would. ``command[0]`` is an
    executable's path.
    """
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-c", _DEFAULT_SIGINT, *(str(part) for part in command)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_group(pid, signum, wait_s, running):
    """Send ``signum`` to the process group of ``pid``; wait up to ``wait_s`` seconds for
    ``running()`` to turn False."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
    deadline = time.monotonic() + wait_s
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
