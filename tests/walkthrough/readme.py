"""The README's commands, read out of its ```bash blocks, and how a walkthrough runs them.

A walkthrough runs each command as written, in a folder holding small made stand-ins for the
user's data (``user_data.py``), with two changes only: long work is shortened (``SHORTER``)
and ``run:<id>`` placeholders get the run the section's finetune command printed.
"""

import re
import shlex
from dataclasses import dataclass

from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"
PYTHON = ".venv/bin/python"
SETUP_SECTION = "Two commands for a fresh machine"  # CI runs those itself (.ci/run)
# Flag -> its value in a walkthrough (the smaller of the README's and this). Work is
# shortened, never switched off: every default stays as a user gets it.
SHORTER = {
    "--epochs": 1,
    "--time-budget-minutes": 0.15,
    "--max-images": 256,
    "--max-pairs": 24,
    "--num-samples": 64,
}
ADDED_TO_FINETUNE = {"--epochs": "1"}  # where the README leaves the (long) default
RUN_PLACEHOLDER = re.compile(r"run:<[^>]*>")
RUN_PRINTED = re.compile(r"^run (run:\S+) complete", re.MULTILINE)


@dataclass(frozen=True)
class Section:
    """A ``##`` section of the README and the shell commands of its ```bash blocks."""

    title: str
    commands: tuple

    @property
    def app(self):
        """The app whose ``python -m apps.<app>...`` commands the section shows."""
        for command in self.commands:
            match = re.search(r"-m apps\.(\w+)\.", command)
            if match:
                return match.group(1)
        return None


def _block_lines(text):
    """``(section title, line)`` of every line inside a ```bash block, continuations joined."""
    title, in_bash, pending = "", False, ""
    for line in text.splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
        elif line.startswith("```"):
            in_bash = not in_bash and line.strip() == "```bash"
        elif in_bash:
            pending += line.rstrip()
            if pending.endswith("\\"):
                pending = pending[:-1] + " "
                continue
            yield title, pending
            pending = ""


def readme_sections(text=None):
    """The README's sections with commands (comments dropped), in order; not the set-up."""
    text = README.read_text(encoding="utf-8") if text is None else text
    sections = {}
    for title, line in _block_lines(text):
        command = line.split(" #", 1)[0].strip()  # a trailing comment
        if command and not command.startswith("#") and title != SETUP_SECTION:
            sections.setdefault(title, []).append(command)
    return [Section(title, tuple(commands)) for title, commands in sections.items()]


def python_arguments(command):
    """The arguments after ``.venv/bin/python``, or None for another program's command."""
    words = shlex.split(command)
    return words[1:] if words and words[0] == PYTHON else None


def module_of(arguments):
    """``apps.x.verb`` of ``-m apps.x.verb ...``, else None."""
    if len(arguments) >= 2 and arguments[0] == "-m":
        return arguments[1]
    return None


def shortened(arguments):
    """The arguments with long work shortened (``SHORTER``, ``ADDED_TO_FINETUNE``)."""
    arguments = list(arguments)
    for index, word in enumerate(arguments[:-1]):
        if word in SHORTER:
            value = min(float(arguments[index + 1]), SHORTER[word])
            arguments[index + 1] = f"{value:g}"
    if (module_of(arguments) or "").endswith(".finetune"):
        for flag, value in ADDED_TO_FINETUNE.items():
            if flag not in arguments:
                arguments += [flag, value]
    return arguments


def with_run(command, run_ref):
    """The command with its ``run:<id>`` placeholders replaced by ``run_ref``."""
    if RUN_PLACEHOLDER.search(command) and run_ref is None:
        raise AssertionError(f"{command}: a run:<id> but no finetune command printed a run")
    return RUN_PLACEHOLDER.sub(run_ref or "", command)


def data_arguments(arguments):
    """The data a command reads: ``--data``/``--file`` values and a predict's inputs."""
    found = [
        arguments[index + 1]
        for index, word in enumerate(arguments[:-1])
        if word in ("--data", "--file")
    ]
    if (module_of(arguments) or "").endswith(".predict"):
        for word in arguments[2:]:
            if word.startswith("-"):
                break
            found.append(word)
    return found
