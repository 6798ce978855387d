"""A fine-tune killed in a child process in the middle of a checkpoint write, as a power cut
would kill it."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Every save into the backup folder writes its file, then the second one is cut to half its
# size and the process is SIGKILLed. Arguments: app, backup folder ("/"-separated), settings.
KILL_INSIDE_BACKUP_WRITE = """
import importlib, json, os, signal, sys
import keras
from shared.lifecycle import run_training

app, backup, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
train = importlib.import_module(f"apps.{app}.train")
config = importlib.import_module(f"apps.{app}.config").FinetuneConfig.tiny(**settings)
marker = os.sep + os.path.join(*backup.split("/")) + os.sep
original, saves = keras.Model.save_weights, []

def save_then_die(self, filepath, *args, **kwargs):
    original(self, filepath, *args, **kwargs)
    if marker in str(filepath):
        saves.append(filepath)
        if len(saves) == 2:
            os.truncate(filepath, os.path.getsize(filepath) // 2)
            os.kill(os.getpid(), signal.SIGKILL)

keras.Model.save_weights = save_then_die
run_training(app, config, train, verbose=0)
"""


def kill_inside_backup_write(app, settings, backup="backup"):
    """Runs ``app``'s tiny fine-tune with ``settings`` until it dies inside its second save
    into ``backup``; returns the finished child process."""
    return subprocess.run(
        [sys.executable, "-c", KILL_INSIDE_BACKUP_WRITE, app, backup, json.dumps(settings)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
