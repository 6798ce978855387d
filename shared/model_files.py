"""Local model files checked before any loader opens them, and one-line load failures.

A model a user points the product at (a ``.keras`` file, a preset folder, a run's model) may
only be plain files whose configs name Keras' own layers and functions: no code, no links
or special files (a FIFO would hang the loader), no outside files read through a layer's
``vocabulary``. ``reports_load_failures`` turns whatever else goes wrong into one line.
"""

import builtins
import functools
import json
import os
import stat
import zipfile
import zlib
from pathlib import Path

from shared.sources import is_inside

MAX_MODEL_DIR_ENTRIES = 10_000
MAX_CONFIG_BYTES = 64 * 1024**2
# Packages a model file may name classes and functions of: Keras' own, and this product's
# registered layers (Keras resolves those only when registered, never by importing).
ALLOWED_PACKAGES = ("keras", "keras_hub", "keras_cv", "keras_nlp", "apps", "shared")
# Keras namespaces that are not modeling code: files, downloads, settings, saving.
NON_MODELING_NAMESPACES = (
    *("keras.utils", "keras.config", "keras.saving", "keras.models", "keras.backend"),
    *("keras.preprocessing", "keras.datasets", "keras.callbacks", "keras.export"),
)
# Config keys that Keras and keras-hub layers read as a file path when given a string.
FILE_KEYS = ("vocabulary", "merges", "proto", "filepath", "vocabulary_file")
# Files the apps read beside a model (its labels, detector settings), in it and its parent.
SIDECAR_FILES = ("labels.json", "detector.json")
CODE_NOTE = "unsafe; a model file may only name Keras' own layers and functions"
_FILE_KINDS = (
    (stat.S_ISLNK, "a symbolic link (a model folder must hold its own files, not links)"),
    (stat.S_ISFIFO, "a FIFO (named pipe), not a regular file"),
    (stat.S_ISSOCK, "a socket, not a regular file"),
    (stat.S_ISCHR, "a character device, not a regular file"),
    (stat.S_ISBLK, "a block device, not a regular file"),
)


def _refused(path, reason):
    return ValueError(f"{path}: refused to load: {reason}")


def _special_file_reason(mode):
    return next((text for test, text in _FILE_KINDS if test(mode)), "not a regular file")


def check_model_files(path):
    """Refuse a local model (a ``.keras`` file or a preset folder) that is not plain files,
    or whose configs name code or outside files; before any loader opens it.

    A link the user names is followed; inside a folder, links and special files (FIFOs,
    devices, sockets: reading them hangs or never ends) are refused.

    Raises:
        ValueError: naming the file and the reason.
    """
    path = Path(path)
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        for file in _plain_files(path):
            if file.parent == path and file.suffix in (".json", ".keras"):
                _check_config_file(file)
    elif stat.S_ISREG(mode):
        _check_keras_file(path)
    else:
        raise _refused(path, f"it is {_special_file_reason(mode)}")
    folder = path if stat.S_ISDIR(mode) else path.parent
    for sidecar in (place / name for place in (folder, folder.parent) for name in SIDECAR_FILES):
        if sidecar.exists() and not sidecar.is_file():
            raise _refused(sidecar, f"it is {_special_file_reason(os.stat(sidecar).st_mode)}")


def _plain_files(directory):
    """The regular files under ``directory``; a link or a special file is refused."""
    files, pending, seen = [], [directory], 0
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                seen += 1
                if seen > MAX_MODEL_DIR_ENTRIES:
                    raise _refused(directory, f"over {MAX_MODEL_DIR_ENTRIES} files: not a model")
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    pending.append(Path(entry.path))
                elif stat.S_ISREG(mode):
                    files.append(Path(entry.path))
                else:
                    raise _refused(entry.path, f"it is {_special_file_reason(mode)}")
    return files


def _check_keras_file(path):
    """A ``.keras`` file must be a zip archive holding a config.json that names no code."""
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a Keras model file (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                raise ValueError(f"{path}: not a Keras model file (no config.json inside)")
            with archive.open("config.json") as member:
                data = member.read(MAX_CONFIG_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
        raise ValueError(f"{path}: not a Keras model file (a damaged zip: {error})") from error
    _check_config(path, data, member="config.json")


def _check_config_file(path):
    if path.suffix == ".keras":
        return _check_keras_file(path)
    with open(path, "rb") as file:
        data = file.read(MAX_CONFIG_BYTES + 1)
    return _check_config(path, data)


def _check_config(path, data, member=None):
    """Parse one JSON config of a model (``member`` of a ``.keras`` archive, or the file
    ``path`` of a preset folder) and refuse what it must not name."""
    if len(data) > MAX_CONFIG_BYTES:
        raise _refused(path, f"{member or 'it'} is over {MAX_CONFIG_BYTES // 1024**2} MB")
    try:
        config = json.loads(data)
    except (ValueError, RecursionError) as error:
        reason = "too deeply nested" if isinstance(error, RecursionError) else error
        if member is None:
            raise _refused(path, f"not valid JSON ({reason})") from error
        raise ValueError(
            f"{path}: not a Keras model file ({member} is not valid JSON: {reason})"
        ) from error
    for node in _keras_objects(config):
        reason = _unsafe_reason(node)
        if reason:
            raise _refused(path, reason)


def _keras_objects(config):
    """Every serialized Keras object (a dict with a ``class_name``) in a parsed config."""
    pending = [config]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if isinstance(node.get("class_name"), str):
                yield node
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


def _unsafe_reason(node):
    """Why the serialized object ``node`` must not be loaded, or None.

    Keras' safe mode refuses these too; checking first gives one plain message, and keeps
    refusing if a Keras version loosens a rule.
    """
    class_name, module, inner = node["class_name"], node.get("module"), node.get("config")
    if class_name == "__lambda__":
        return f"it holds Python code, a lambda ({CODE_NOTE})"
    for key in FILE_KEYS if isinstance(inner, dict) else ():
        if isinstance(inner.get(key), str):
            return f"it reads the file {inner[key]!r} (unsafe; a model reads only its own files)"
    if module is None:
        return None  # resolved among registered objects only
    name = inner if class_name == "function" else class_name
    verb = "calls" if class_name == "function" else "builds"
    refused = f"it {verb} {module}.{name} ({CODE_NOTE})"
    if module == "builtins":
        return refused if hasattr(builtins, str(name)) else None
    if str(module).split(".")[0] not in ALLOWED_PACKAGES:
        return refused
    if class_name == "function" and any(
        module == space or module.startswith(space + ".") for space in NON_MODELING_NAMESPACES
    ):
        return refused
    return None


# --- Failures while loading: one line naming the model --------------------------------------

MAX_REASON_CHARS = 300


def _failure_reason(error):
    """The gist of a loader's exception: Keras nests each cause after "Exception
    encountered:" and appends whole configs, which a one-line message leaves out."""
    text = str(error).rsplit("Exception encountered:", 1)[-1]
    text = " ".join(text.split("Full object config:")[0].split()) or type(error).__name__
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


def reports_load_failures(load):
    """Decorate an app's ``load_*(ref, ...)`` so any failure to read the model behind ``ref``
    is one ``ValueError`` naming it (what the CLIs and pages report), never a traceback."""

    @functools.wraps(load)
    def load_reporting_failures(ref=None, *args, **kwargs):
        try:
            return load(ref, *args, **kwargs)
        except ValueError as error:
            names = (str(ref).strip(), os.path.expanduser(str(ref).strip()))
            if ref is None or any(name in str(error) for name in names):
                raise  # already names the model
            raise ValueError(f"{ref}: cannot load the model: {_failure_reason(error)}") from error
        except Exception as error:  # a damaged file makes Keras raise about anything
            name = ref or "the default model"
            raise ValueError(f"{name}: cannot load the model: {_failure_reason(error)}") from error

    return load_reporting_failures


def file_in(folder, name):
    """``folder / name`` for a file a model's config names, refused unless it is a plain
    relative path inside ``folder`` (no absolute path, no ``..``, no link out)."""
    folder = Path(folder)
    path = folder / str(name)
    inside = not Path(str(name)).is_absolute() and ".." not in Path(str(name)).parts
    if not inside or not is_inside(path, folder):
        raise _refused(folder, f"its config names {str(name)!r}, a file outside the model")
    return path
