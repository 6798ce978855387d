"""One prediction per model, input and options for the whole server, shared by every user.

Many people opening the same sample (the cat on the classification page, the coffee cup on
the detection page, the speech clip, the chains) would each run the same model on the same
bytes. ``cached_predict`` runs it once: the result is kept in a process-wide cache keyed by
the app, the model reference, the loaded model object, a digest of the input and the options
that change the output; users asking for it while it is being computed wait for that one
computation instead of starting their own. The cache is bounded in entries and in bytes
(least recently used entries leave first) and is safe to use from any thread.

A cached result is the model's own result, its ``latency_ms`` the time measured when it was
computed; each caller gets its own shallow copy carrying its own ``source`` name.
"""

import dataclasses
import hashlib
import itertools
import pickle
import threading
import weakref
from collections import OrderedDict
from pathlib import PurePath

import numpy as np

MAX_ENTRIES = 256
MAX_BYTES = 64 * 2**20
# Options passed to ``predict`` that never change the result: not part of the key.
UNKEYED_OPTIONS = frozenset({"source", "progress"})


class Uncacheable(TypeError):
    """An input or option that has no stable digest (the prediction then runs uncached)."""


def _feed(digest, value):
    if isinstance(value, np.ndarray):
        digest.update(f"array:{value.dtype.str}:{value.shape};".encode())
        digest.update(np.ascontiguousarray(value).data)
    elif isinstance(value, str):
        digest.update(f"str:{len(value)};".encode())
        digest.update(value.encode("utf-8", "surrogatepass"))
    elif isinstance(value, (bytes, bytearray, memoryview)):
        digest.update(f"bytes:{len(value)};".encode())
        digest.update(value)
    elif isinstance(value, (list, tuple)):
        digest.update(f"seq:{len(value)};".encode())
        for item in value:
            _feed(digest, item)
    elif value is None or isinstance(value, (bool, int, float, np.generic, PurePath)):
        digest.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        raise Uncacheable(f"no digest for a {type(value).__name__}")


def input_digest(value):
    """A hex digest of ``value``: arrays (dtype, shape and bytes), text, bytes, paths, numbers,
    and lists or tuples of them. Raises ``Uncacheable`` for anything else."""
    digest = hashlib.blake2b(digest_size=20)
    _feed(digest, value)
    return digest.hexdigest()


def options_key(options):
    """The options that change the output, as a sorted hashable tuple."""
    keyed = tuple(sorted((k, v) for k, v in options.items() if k not in UNKEYED_OPTIONS))
    try:
        hash(keyed)
    except TypeError as error:
        raise Uncacheable(str(error)) from error
    return keyed


def estimated_bytes(value):
    """The size of ``value`` pickled (a fair measure of what a result holds)."""
    try:
        return len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - an unpicklable result is counted as too big to keep
        return None


class _Flight:
    """One computation in progress; the callers waiting for it wait on ``done``."""

    def __init__(self):
        self.done = threading.Event()
        self.value = None
        self.ok = False


class ResultCache:
    """A thread-safe LRU of computed values, bounded in entries and bytes, computing each
    key once at a time (single flight)."""

    def __init__(self, max_entries=MAX_ENTRIES, max_bytes=MAX_BYTES, size=estimated_bytes):
        self.max_entries, self.max_bytes, self._size = max_entries, max_bytes, size
        self._lock = threading.Lock()
        self._entries = OrderedDict()  # key -> (value, bytes)
        self._flights = {}  # key -> _Flight
        self.bytes = 0
        self.hits = self.misses = 0

    def __len__(self):
        return len(self._entries)

    def __contains__(self, key):
        with self._lock:
            return key in self._entries

    def clear(self):
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    def get_or_compute(self, key, compute):
        """``(value, computed_here)``: the cached value of ``key``, or ``compute()`` run once
        for all the callers asking for ``key`` at the same time.

        When the computation fails (a bad input, or the run computing it was stopped), its
        caller gets the exception and each waiting caller tries again, one at a time.
        """
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return entry[0], False
                flight = self._flights.get(key)
                leading = flight is None
                if leading:
                    flight = self._flights[key] = _Flight()
                    self.misses += 1
            if leading:
                return self._lead(key, flight, compute), True
            flight.done.wait()
            if flight.ok:
                with self._lock:
                    self.hits += 1
                return flight.value, False

    def _lead(self, key, flight, compute):
        try:
            flight.value = compute()
            flight.ok = True
        finally:
            with self._lock:
                del self._flights[key]
                if flight.ok:
                    self._store(key, flight.value)
            flight.done.set()
        return flight.value

    def _store(self, key, value):
        """Keep ``value`` (under the lock), dropping the least recently used to fit."""
        size = self._size(value)
        if size is None or size > self.max_bytes or self.max_entries < 1:
            return
        self._entries[key] = (value, size)
        self.bytes += size
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.bytes -= dropped


RESULTS = ResultCache()
_tokens = weakref.WeakKeyDictionary()
_counter = itertools.count()
_tokens_lock = threading.Lock()


def model_token(predictor):
    """A number for the loaded ``predictor`` object, never reused by a later one (a model
    loaded again, say after a run of the same name was trained anew, gets a new one)."""
    with _tokens_lock:
        try:
            token = _tokens.get(predictor)
            if token is None:
                token = _tokens[predictor] = next(_counter)
        except TypeError:  # not weakly referenceable: its id, for its lifetime
            return f"id{id(predictor)}"
    return token


def _with_source(result, source):
    """A shallow copy of ``result`` (or of each of a list's) carrying ``source``."""
    if isinstance(result, list):
        sources = source if isinstance(source, (list, tuple)) else [source] * len(result)
        return [_with_source(item, name) for item, name in zip(result, sources)]
    if dataclasses.is_dataclass(result) and hasattr(result, "source"):
        return dataclasses.replace(result, source=source)
    return result


def cached_predict(predictor, value, *, app, model, cache=RESULTS, **options):
    """``predictor.predict(value, **options)``, computed once per server for the same app,
    model, input and options (``source`` and ``progress`` are passed on but not keyed).

    Returns what ``predict`` returns, as a copy (the kept one is never handed out) with this
    caller's ``source``; ``latency_ms`` is the time measured when it was computed.
    """
    try:
        key = (app, model, model_token(predictor), input_digest(value), options_key(options))
    except Uncacheable:
        return predictor.predict(value, **options)
    result, _ = cache.get_or_compute(key, lambda: predictor.predict(value, **options))
    return _with_source(result, options.get("source"))
