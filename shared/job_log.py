"""A training job's log as the Train page shows it: what a terminal would show, quiet.

The log is the training process' raw output: Keras' progress bars redraw lines with ``\\r``,
backspaces and escape sequences, and TensorFlow may print native log lines (CUDA drivers,
cuInit, oneDNN) after ``shared.quiet`` has imported it quietly; both are cleaned here.
"""

import os
import re

from shared.quiet import NATIVE_LOG_LINE

# Terminal control sequences (Keras' bold progress bars, tqdm's cursor moves, titles): CSI,
# OSC and two-character escapes, then any other control character but the tab.
TERMINAL_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles
    r"|\x1b[@-_]"
)
BACKSPACE = re.compile(r"[^\x08]?\x08")
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# TensorFlow's native log lines (CUDA drivers, cuInit, oneDNN, CPU instructions) in both of
# its formats: absl's, which shared.quiet keeps off the command lines, and the older
# timestamped one ("2024-05-01 10:00:00.123456: E external/.../cuda_driver.cc:282] ...").
TENSORFLOW_LOG_LINE = re.compile(
    rf"{NATIVE_LOG_LINE.pattern}|\d{{4}}-\d\d-\d\d [\d:.]+: [IWEF] \S+:\d+\] "
)


def read_log_tail(path, *, lines=30, max_bytes=64 * 1024):
    """The last ``lines`` non-empty lines of the log at ``path`` (progress-bar redraws
    folded), without TensorFlow's native log lines; "" when it cannot be read."""
    try:
        with open(path, "rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - max_bytes))
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    rows = [plain_log_line(row) for row in text.split("\n")]
    rows = [row for row in rows if row.strip() and not TENSORFLOW_LOG_LINE.match(row)]
    return "\n".join(rows[-lines:])


def plain_log_line(row):
    """What a terminal would show of one line of a log: redraws (``\\r``) and backspaces
    applied, escape sequences and other control characters removed."""
    row = row.rstrip("\r").rsplit("\r", 1)[-1]
    row = TERMINAL_ESCAPE.sub("", row)
    while "\b" in row:  # a backspace erases the character before it
        row = BACKSPACE.sub("", row, count=1)
    return CONTROL_CHARACTER.sub("", row)
