"""The README, run as a user runs it: every command of every section, in order, as written.

Each section runs in a fresh folder holding small stand-ins for the user's data; commands
run as subprocesses of this virtual environment with the README's own flags and the
product's defaults. Only long work is shortened (``readme.SHORTER``). A user sees what these
tests check: exit status 0, the output the README promises, and a stderr free of
TensorFlow's logs and of tracebacks.
"""

import json
import os
import re
import subprocess
import sys
import time

import pytest

from shared import fashion_mnist
from shared.quiet import NATIVE_LOG_LINE
from tests.conftest import REPO_ROOT
from tests.walkthrough import readme, user_data

pytestmark = pytest.mark.walkthrough

SECTIONS = readme.readme_sections()
TIMEOUT_S = 900
# Lines a user should never see on stderr: TensorFlow/absl/CUDA logs, tracebacks, Python's
# warnings (such as runpy's about a module imported before ``-m`` runs it).
NOISE = re.compile(r"Traceback|cuInit|cuda|absl|oneDNN|tensorflow/|Warning:", re.IGNORECASE)


def _expect_json_lines(stdout):
    rows = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert rows, "no JSON lines"
    return rows


def _classified_cat(stdout, folder):
    assert "Egyptian cat" in stdout.splitlines()[1], stdout


def _csv_per_image(stdout, folder):
    header, *rows = stdout.splitlines()
    assert header.startswith("source,") and len(rows) == 18, stdout  # 3 classes × 6 images


def _found_a_cup(stdout, folder):
    assert re.search(r"\bcup\b", stdout), stdout
    assert (folder / "drawn" / "coffee_detections.png").is_file()


def _drew_a_face(stdout, folder):
    assert re.search(r"\bface\b", stdout), stdout
    assert (folder / "drawn" / "astronaut_detections.png").is_file()


def _transcribed_clip(stdout, folder):
    assert "young man" in stdout.lower(), stdout


def _talk_across_30_s(stdout, folder):
    (result,) = _expect_json_lines(stdout)
    text = result["text"].lower()
    assert "spades" in text and "hearts" in text, text  # said from 27.3 s to 30.8 s
    starts = [segment["start"] for segment in result["segments"]]
    assert starts == sorted(starts) and result["audio_seconds"] > 30


def _translated_german_talk(stdout, folder):
    (result,) = _expect_json_lines(stdout)
    assert result["language"] == "de" and result["task"] == "translate", result
    assert "ich" not in result["text"].lower().split(), result  # English, not German


def _translated(stdout, folder):
    (result,) = _expect_json_lines(stdout)
    assert "tempo" in result["translation"].lower(), result


def _translated_letter(stdout, folder):
    paragraphs = stdout.strip().split("\n\n")  # the letter's paragraphs are kept
    assert len(paragraphs) == 3 and "Ana" in paragraphs[0] and "weather" in paragraphs[1], stdout


def _alternatives(stdout, folder):
    assert "estação" in stdout.lower(), stdout


def _generated(stdout, folder):
    (result,) = _expect_json_lines(stdout)
    assert len(result["files"]) == 16 and all((folder / path).is_file() for path in result["files"])


# What the person running a command sees: (pattern of the README command, check(stdout, folder)).
CHECKS = (
    (r"image_classify\.predict chelsea\.png", _classified_cat),
    (r"image_classify\.predict flowers_test .*--csv", _csv_per_image),
    (r"detection\.predict coffee\.png", _found_a_cup),
    (r"detection\.predict astronaut\.png", _drew_a_face),
    (r"speech\.predict clip\.wav", _transcribed_clip),
    (r"speech\.predict long_talk\.flac", _talk_across_30_s),
    (r"speech\.predict german_talk\.wav", _translated_german_talk),
    (r"translate\.predict \"The weather", _translated),
    (r"translate\.predict --direction pt-en --file carta\.txt", _translated_letter),
    (r"translate\.predict \"Where is the station", _alternatives),
    (r"gan\.predict", _generated),
)


def _environment():
    """The user's environment: offline, this repository importable, TensorFlow's log level
    and the runs folder left to the product (runs land in ``./runs`` as the README says)."""
    unset = ("TF_CPP_MIN_LOG_LEVEL", "TRANSFERZOO_RUNS_DIR", "TRANSFERZOO_JOB_DIR")
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(":")
    return env


def _run(command, folder, run_ref):
    """Runs one README line in ``folder``; returns its stdout and the run it printed."""
    arguments = readme.python_arguments(readme.with_run(command, run_ref))
    if arguments is None:
        words = ["bash", "-c", command]
    else:
        words = [sys.executable, *readme.shortened(arguments)]
    start = time.monotonic()
    result = subprocess.run(
        words,
        cwd=folder,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    print(f"{time.monotonic() - start:6.1f} s  $ {command}")  # shown with -s or on failure
    shown = f"$ {command}\nstdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert result.returncode == 0, shown
    noisy = [line for line in result.stderr.splitlines() if NOISE.search(line)]
    noisy += [line for line in result.stderr.splitlines() if NATIVE_LOG_LINE.match(line)]
    assert not noisy, shown
    for pattern, check in CHECKS:
        if re.search(pattern, command):
            check(result.stdout, folder)
    printed = readme.RUN_PRINTED.findall(result.stdout)
    return printed[-1] if printed else run_ref


def _needs(section):
    """Skips (saying why) when a section needs a dataset this machine does not have."""
    if any("fashion-mnist" in command for command in section.commands):
        if not fashion_mnist.is_installed("train"):
            pytest.skip("needs Debian dataset-fashion-mnist (.ci/run installs it)")


@pytest.mark.parametrize("section", SECTIONS, ids=[s.app or s.title for s in SECTIONS])
def test_readme_section_runs_as_written(section, tmp_path):
    _needs(section)
    for command in section.commands:
        arguments = readme.python_arguments(command) or []
        for name in readme.data_arguments(arguments):
            if name in user_data.MAKERS:
                user_data.make(name, tmp_path)
    run_ref = None
    for command in section.commands:
        run_ref = _run(command, tmp_path, run_ref)


def test_every_readme_command_has_its_data():
    """A new README command fails here (fast) until its data has a stand-in."""
    assert len(SECTIONS) >= 5 and sum(len(s.commands) for s in SECTIONS) >= 20
    for section in SECTIONS:
        earlier = ""
        for command in section.commands:
            arguments = readme.python_arguments(command)
            assert arguments is not None or command.split()[0] in ("cp",), command
            module = readme.module_of(arguments or [])
            assert module is None or (REPO_ROOT / (module.replace(".", "/") + ".py")).is_file()
            for name in readme.data_arguments(arguments or []):
                known = (
                    " " in name  # a sentence to translate
                    or name in user_data.MAKERS
                    or name.startswith(user_data.NAMED_SOURCES)
                    or name in earlier  # written by an earlier command of the section
                )
                assert known, f"{command}: no stand-in for {name!r} in tests/walkthrough"
            earlier += command


def test_readme_parsing_and_shortening():
    text = (
        "## Set\n```bash\n.venv/bin/python -m apps.a.predict x.png\n```\n"
        "## Try\n```bash\n# a comment\n.venv/bin/python -m apps.a.finetune --data d \\\n"
        "  --time-budget-minutes 6  # six minutes\n```\n```\nnot bash\n```\n"
    )
    (set_, try_) = readme.readme_sections(text)
    assert set_.commands == (".venv/bin/python -m apps.a.predict x.png",)
    assert try_.app == "a" and len(try_.commands) == 1
    arguments = readme.shortened(readme.python_arguments(try_.commands[0]))
    assert arguments[-4:] == ["--time-budget-minutes", "0.15", "--epochs", "1"]
    assert readme.with_run("x --model run:<id printed above> --y", "run:7") == "x --model run:7 --y"
