"""The process-wide prediction cache: one computation per key, bounded, keyed by what matters."""

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pytest

from shared.results import Result
from shared.ui.result_cache import (
    ResultCache,
    Uncacheable,
    cached_predict,
    input_digest,
    options_key,
)

THREADS = 8


@dataclass(kw_only=True)
class Labels(Result):
    labels: list = field(default_factory=list)


class CountingPredictor:
    """Predicts the input's sum and the options; counts its calls; can be slow."""

    def __init__(self, seconds=0.0):
        self.calls, self.seconds, self.ref = [], seconds, "bundled:test"

    def predict(self, value, *, top_k=5, source=None, progress=None):
        self.calls.append(top_k)
        time.sleep(self.seconds)
        total = float(np.sum(value)) if not isinstance(value, str) else len(value)
        return Labels(labels=[total, top_k], model=self.ref, latency_ms=12.5, source=source)


def at_once(count, work):
    """``work(index)`` in ``count`` threads released together; their results in order."""
    barrier, results = threading.Barrier(count), [None] * count

    def run(index):
        barrier.wait()
        results[index] = work(index)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_concurrent_identical_requests_compute_once():
    cache, calls = ResultCache(), []

    def compute():
        calls.append(1)
        time.sleep(0.2)  # the others arrive while this one computes
        return {"answer": 42}

    results = at_once(THREADS, lambda _: cache.get_or_compute("key", compute))
    assert len(calls) == 1
    assert [value for value, _ in results] == [{"answer": 42}] * THREADS
    assert sorted(computed for _, computed in results) == [False] * (THREADS - 1) + [True]
    assert cache.get_or_compute("key", compute) == ({"answer": 42}, False)
    assert len(calls) == 1


def test_a_failed_computation_is_not_kept_and_the_waiters_try_again():
    cache, calls = ResultCache(), []

    def compute():
        calls.append(1)
        time.sleep(0.1)
        if len(calls) == 1:
            raise ValueError("the first try fails")
        return "fine"

    def work(_):
        try:
            return cache.get_or_compute("key", compute)[0]
        except ValueError as error:
            return str(error)

    results = at_once(4, work)
    assert sorted(results) == ["fine"] * 3 + ["the first try fails"]
    assert len(calls) == 2  # the failure once, then one computation for the three waiting


def test_least_recently_used_entries_leave_past_the_entry_bound():
    cache = ResultCache(max_entries=2)
    for key in "abc":
        cache.get_or_compute(key, lambda key=key: key.upper())
        if key == "b":
            cache.get_or_compute("a", lambda: "recomputed")  # "a" is now the most recent
    assert "a" in cache and "c" in cache and "b" not in cache
    assert len(cache) == 2


def test_the_byte_bound_holds_and_an_oversized_value_is_returned_but_not_kept():
    cache = ResultCache(max_bytes=1000, size=len)
    cache.get_or_compute("small", lambda: "x" * 400)
    cache.get_or_compute("medium", lambda: "y" * 500)
    cache.get_or_compute("more", lambda: "z" * 300)
    assert cache.bytes <= 1000
    assert "small" not in cache and "medium" in cache and "more" in cache
    value, computed = cache.get_or_compute("huge", lambda: "w" * 5000)
    assert (len(value), computed) == (5000, True)
    assert "huge" not in cache and cache.bytes == 800


def test_digests_tell_inputs_apart_by_bytes_shape_dtype_and_kind():
    image = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    assert input_digest(image) == input_digest(image.copy())
    assert input_digest(image) != input_digest(image.reshape(4, 2, 3))
    assert input_digest(image) != input_digest(image.astype(np.int16))
    changed = image.copy()
    changed[0, 0, 0] = 99
    assert input_digest(image) != input_digest(changed)
    assert input_digest("1") != input_digest(b"1") != input_digest(1)
    assert input_digest([image, image]) != input_digest([image])
    assert input_digest(image[:, ::2]) == input_digest(np.ascontiguousarray(image[:, ::2]))
    with pytest.raises(Uncacheable):
        input_digest(object())


def test_options_that_change_the_output_are_keyed_and_source_and_progress_are_not():
    assert options_key({"top_k": 5, "source": "a"}) == options_key({"top_k": 5, "source": "b"})
    assert options_key({"top_k": 5}) != options_key({"top_k": 3})
    assert options_key({"beam_size": 1, "progress": print}) == options_key({"beam_size": 1})
    with pytest.raises(Uncacheable):
        options_key({"language": ["en"]})


def test_cached_predict_runs_the_model_once_per_input_and_options():
    cache, predictor = ResultCache(), CountingPredictor()
    image = np.ones((4, 4, 3), np.uint8)
    first = cached_predict(predictor, image, app="a", model="m", cache=cache, source="cat.png")
    again = cached_predict(predictor, image, app="a", model="m", cache=cache, source="other")
    assert predictor.calls == [5]
    assert again.labels == first.labels and again.latency_ms == first.latency_ms == 12.5
    assert (first.source, again.source) == ("cat.png", "other")
    cached_predict(predictor, image, app="a", model="m", cache=cache, top_k=3)
    cached_predict(predictor, image * 2, app="a", model="m", cache=cache)
    cached_predict(predictor, image, app="b", model="m", cache=cache)
    cached_predict(predictor, image, app="a", model="other", cache=cache)
    assert predictor.calls == [5, 3, 5, 5, 5]
    cached_predict(CountingPredictor(), image, app="a", model="m", cache=cache)
    assert len(cache) == 6  # a model loaded again is a new model


def test_cached_results_equal_uncached_ones_and_are_each_callers_own_copy():
    cache, predictor = ResultCache(), CountingPredictor()
    uncached = predictor.predict("some text", source="s")
    shared = [
        cached_predict(predictor, "some text", app="a", model="m", cache=cache, source="s")
        for _ in range(2)
    ]
    assert shared[0] == shared[1] == uncached
    shared[0].labels = ["changed by one page"]
    assert cached_predict(predictor, "some text", app="a", model="m", cache=cache) != shared[0]


def test_many_sessions_on_one_sample_predict_it_once():
    cache, predictor = ResultCache(), CountingPredictor(seconds=0.2)
    image = np.full((8, 8, 3), 7, np.uint8)
    results = at_once(
        THREADS,
        lambda index: cached_predict(
            predictor, image.copy(), app="a", model="m", cache=cache, source=f"user {index}"
        ),
    )
    assert predictor.calls == [5]
    assert [result.source for result in results] == [f"user {i}" for i in range(THREADS)]
    assert all(result.labels == results[0].labels for result in results)


def test_an_input_without_a_digest_is_predicted_uncached():
    cache, predictor = ResultCache(), CountingPredictor()
    for _ in range(2):
        cached_predict(predictor, "text", app="a", model="m", cache=cache, top_k=[1])
    assert predictor.calls == [[1], [1]] and len(cache) == 0
