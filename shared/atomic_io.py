"""Atomic file writes and JSON reads shared by the runs registry, the cache and the recipe."""

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _json_default(value: Any) -> Any:
    """Turns paths and numpy scalars/arrays into JSON values (without importing numpy)."""
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON: {value!r}")


def atomic_write_text(path: str | Path, text: str) -> None:
    """Writes `text` to a temp file beside `path`, fsyncs it, then renames it over."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as temp_file:
            temp_file.write(text)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Writes `obj` as indented JSON to `path`, atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def read_json(path: str | Path, default: Any = None) -> Any:
    """Returns the content of a JSON file, `default` when it does not exist, or
    raises ValueError when it is not valid JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except json.JSONDecodeError as error:
        raise ValueError(f"corrupt JSON file {str(path)!r}: {error}") from error
