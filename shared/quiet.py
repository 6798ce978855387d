"""TensorFlow without its start-up noise: a command's stderr is for the user's messages.

On a CPU machine TensorFlow's native libraries print a dozen log lines as they load (oneDNN,
"Could not find cuda drivers", CPU instructions, absl's "All log messages before
absl::InitializeLog()") and an error later ("failed call to cuInit"). The first kind is
written before TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL``, so TensorFlow is imported here with
the process' stderr (file descriptor 2) captured, and only the lines that are not such log
lines are written back. ``TF_CPP_MIN_LOG_LEVEL`` then defaults to 3 (errors reach the user as
Python exceptions). A user who sets a lower ``TF_CPP_MIN_LOG_LEVEL`` gets TensorFlow's logs as
they are.
"""

import contextlib
import importlib.util
import os
import re
import sys
import tempfile

LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
# absl's C++ log lines (`I0000 00:00:1796613217.667 4289 port.cc:153] ...`), its banner, and
# the second line of TensorFlow's CPU-instructions notice.
NATIVE_LOG_LINE = re.compile(
    r"[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: .* rebuild TensorFlow"
)


@contextlib.contextmanager
def _captured_stderr():
    """Redirects file descriptor 2 into a temporary file; yields a list filled on exit."""
    lines = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines += capture.read().decode("utf-8", errors="replace").splitlines()


def quiet_tensorflow_logs():
    """Imports TensorFlow (when installed) without its native log lines; idempotent.

    Call it before anything imports keras or TensorFlow: the package ``apps`` does.
    """
    # "3" may be inherited from a process that called this (a job started by the server).
    if os.environ.setdefault(LEVEL_VARIABLE, "3") != "3" or "tensorflow" in sys.modules:
        return
    if importlib.util.find_spec("tensorflow") is None:  # e.g. a JAX-only machine
        return
    lines = []
    try:
        with _captured_stderr() as lines:
            import tensorflow  # noqa: F401
    finally:  # what TensorFlow printed that is not a log line (a failed import's message)
        kept = [line for line in lines if not NATIVE_LOG_LINE.match(line)]
        if kept:
            print("\n".join(kept), file=sys.stderr)
