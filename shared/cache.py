"""The local cache where bundled weights become native Keras presets, written atomically."""

import os
import shutil
import tempfile
from pathlib import Path

CACHE_ENV = "TRANSFERZOO_CACHE"


def cache_root():
    """Return the cache directory: ``$TRANSFERZOO_CACHE``, else ``$XDG_CACHE_HOME/transferzoo``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "transferzoo"


def cached_preset_dir(name):
    """Where the converted preset called ``name`` lives (it may not exist yet)."""
    return cache_root() / "presets" / name


def ensure_converted(name, convert):
    """Return the preset directory for ``name``, converting it first if it is not cached.

    The conversion writes into a temporary sibling directory that is renamed into place
    only once ``convert`` has returned, so a crash never leaves a half-written preset, and
    two processes converting at once both end up with one complete copy.

    Args:
        name: cache entry name (include a converter version in it when the format changes).
        convert: callable taking the directory (a ``Path``) to write the preset into.

    Returns:
        The ``Path`` of the complete preset directory.
    """
    target = cached_preset_dir(name)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=target.parent))
    try:
        convert(staging)
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():  # not a lost race: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
