"""One resolver for model references, shared by every app, the CLI, the UI and the tests.

A reference is one of:
  ``bundled:<name>``   real weights shipped in a pip package, converted once into a native
                       Keras preset in the cache (works offline);
  ``run:<id>``         a fine-tuned model from the runs registry;
  a path               a local keras-hub preset directory or a ``.keras`` file;
  a preset name        a keras-hub preset (downloaded; needs the network).
"""

import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from shared import cache, runs
from shared.model_files import check_model_files

OFFLINE_ENV = "TRANSFERZOO_OFFLINE"
CONVERTER_VERSION = "v1"  # bump when a converter's output changes, to refresh caches
_HUB_HOSTS = (("www.kaggle.com", 443), ("huggingface.co", 443))


@dataclass(frozen=True)
class ModelCatalog:
    """A set of model references that is not an app of its own, such as the image backbones
    several apps start from. ``resolve_model_ref`` and ``offline_choices`` accept it wherever
    they accept an app's ``AppSpec``: they read only these fields.

    Args:
        name: runs-registry folder of its fine-tuned models (``run:<id>``), and the prefix of
            its converted-weights cache entries.
        title: human title, used in messages.
        default_model: the reference used when none is given (always offline).
        bundled: ``bundled:<name>`` entries: name -> callable that converts the packaged
            weights into a Keras preset directory given as its only argument.
        hub_presets: keras-hub preset names offered as online choices.
    """

    name: str
    title: str
    default_model: str
    bundled: dict = field(default_factory=dict)
    hub_presets: tuple = ()


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model reference points.

    Attributes:
        ref: the reference as given.
        kind: "bundled", "run", "path" or "preset".
        location: a local path (str) for bundled/run/path, the preset name for "preset".
        run: the ``shared.runs.Run`` for kind "run", else None.
    """

    ref: str
    kind: str
    location: str
    run: runs.Run | None = None


class OfflineError(ValueError):
    """A hub preset was asked for and the hub cannot be reached."""


def _env_offline():
    flags = (os.environ.get(OFFLINE_ENV), os.environ.get("HF_HUB_OFFLINE"))
    return any(flag and flag not in ("0", "false", "False") for flag in flags)


_PROBE_TTL_S = 60.0
_probe = {"time": -_PROBE_TTL_S, "reachable": False}


def _connect_any(result):
    for host, port in _HUB_HOSTS:
        try:
            socket.create_connection((host, port), timeout=1.5).close()
            result.append(True)
            return
        except OSError:
            continue


def _hub_reachable(timeout=2.0):
    """Probe the hubs at most once a minute; DNS included, never longer than ``timeout``."""
    now = time.monotonic()
    if now - _probe["time"] < _PROBE_TTL_S:
        return _probe["reachable"]
    result = []
    worker = threading.Thread(target=_connect_any, args=(result,), daemon=True)
    worker.start()
    worker.join(timeout)
    _probe.update(time=now, reachable=bool(result))
    return _probe["reachable"]


def is_offline():
    """True when hub downloads cannot work: set by the environment, else probed once."""
    return _env_offline() or not _hub_reachable()


def offline_choices(spec, runs_dir=None):
    """References that work with no network for the app ``spec``."""
    bundled = [f"bundled:{name}" for name in spec.bundled]
    complete = runs.list_runs(spec.name, runs_dir=runs_dir, include_incomplete=False)
    return bundled + [run.ref for run in complete]


def bundled_cache_name(spec, name):
    """The cache entry name of ``bundled:<name>`` for app ``spec`` (versioned)."""
    return f"{spec.name}-{name}-{CONVERTER_VERSION}"


def bundled_preset_dir(spec, name):
    """Return the cached preset dir of ``bundled:<name>``, converting it on first use."""
    if name not in spec.bundled:
        raise ValueError(
            f"Unknown bundled model {name!r} for {spec.title}; "
            f"bundled models: {', '.join('bundled:' + n for n in spec.bundled)}"
        )
    convert = spec.bundled[name]
    return cache.ensure_converted(bundled_cache_name(spec, name), convert)


def _resolve_run(spec, run_id, ref, runs_dir):
    run = runs.open_run(run_id, runs_dir=runs_dir, app=spec.name)
    if run.state != "complete":
        raise ValueError(f"{ref} is {run.state}, not complete: it has no final model to load")
    if os.path.lexists(run.model_path):
        check_model_files(run.model_path)
    return ResolvedModel(ref, "run", str(run.model_path), run)


def _is_hub_name(spec, ref):
    if ref.startswith(("kaggle://", "hf://", "gs://")):
        return True
    import keras_hub

    return ref in spec.hub_presets or ref in keras_hub.models.Backbone.presets


def resolve_model_ref(ref, spec, *, runs_dir=None):
    """Turn a model reference into a ``ResolvedModel`` for the app ``spec``.

    Args:
        ref: the reference string (see the module docstring); empty means the app default.
        spec: the app's ``AppSpec``, or a ``ModelCatalog``.
        runs_dir: runs registry root (default: ``shared.runs.runs_root()``).

    Returns:
        A ``ResolvedModel``.

    Raises:
        OfflineError: a hub preset was requested with no network (names offline choices).
        ValueError: the reference is unknown, a run is not complete, or a local model's
            files are refused (see ``check_model_files``).
    """
    ref = (ref or spec.default_model or "").strip()
    if not ref:
        raise ValueError(f"{spec.title} has no default model: give a model reference")
    if ref.startswith("bundled:"):
        location = bundled_preset_dir(spec, ref.split(":", 1)[1])
        return ResolvedModel(ref, "bundled", str(location))
    if ref.startswith(runs.RUN_REF_PREFIX):
        return _resolve_run(spec, ref[len(runs.RUN_REF_PREFIX) :], ref, runs_dir)
    path = Path(ref).expanduser()
    if path.exists():
        if path.is_file() and path.suffix != ".keras":
            raise ValueError(f"{ref}: a model file must be a .keras file (or give a preset dir)")
        check_model_files(path)
        return ResolvedModel(ref, "path", str(path))
    if _is_hub_name(spec, ref):
        if is_offline():
            raise OfflineError(
                f"{ref!r} is a keras-hub preset and needs the network, which cannot be reached. "
                f"Offline choices: {', '.join(offline_choices(spec, runs_dir))}"
            )
        return ResolvedModel(ref, "preset", ref)
    raise ValueError(
        f"Unknown model reference {ref!r}. Use bundled:<name> "
        f"({', '.join(spec.bundled)}), a keras-hub preset name, a preset directory, "
        f"a .keras file, or run:<id>"
    )
