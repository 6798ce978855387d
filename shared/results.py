"""``Result``: what every predictor's result holds, whatever the app, and its JSON form."""

import dataclasses
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np


def json_safe(value):
    """``value`` as plain JSON types: dataclasses and mappings become dicts, tuples and
    arrays lists, numpy scalars Python numbers, paths strings. An object with a
    ``to_dict()`` gives its own form."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return fields_dict(value)
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, PurePath):
        return str(value)
    return value


def fields_dict(instance, leave_out=()):
    """The fields of a dataclass instance as a JSON-safe dict, less those in ``leave_out``."""
    return {
        item.name: json_safe(getattr(instance, item.name))
        for item in dataclasses.fields(instance)
        if item.name not in leave_out
    }


@dataclass(kw_only=True)
class Result:
    """The fields every app's result has (``Classification``, ``Detections``, ``Transcript``,
    ``Translation``, ``Samples``); each app's result adds its own.

    Attributes:
        model: the reference of the model that produced it (``bundled:...``, ``run:...``).
        latency_ms: the model's time for this input, in milliseconds.
        source: the input's name (a file path, say), or None.
    """

    model: str
    latency_ms: float
    source: str | None = None

    def to_dict(self):
        """JSON-ready dict of every field (the predict CLIs' ``--json`` line)."""
        return fields_dict(self)
