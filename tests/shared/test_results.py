"""Tests for shared.results: the fields every result has and its JSON form."""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from shared.results import Result, fields_dict, json_safe


@dataclass
class Point:
    x: float
    y: float


@dataclass(kw_only=True)
class Found(Result):
    points: list[Point]
    scores: np.ndarray
    details: dict = field(default_factory=dict)


def test_a_result_has_model_latency_and_source():
    result = Found(points=[], scores=np.zeros(0), model="bundled:x", latency_ms=1.5)
    assert (result.model, result.latency_ms, result.source) == ("bundled:x", 1.5, None)
    with pytest.raises(TypeError):
        Found([], np.zeros(0), "bundled:x", 1.5)  # keyword-only: no silent field swaps


def test_to_dict_is_plain_json():
    result = Found(
        points=[Point(np.float32(1.5), 2)],
        scores=np.array([0.25, 0.75], "float32"),
        details={"size": (np.int64(3), 4), "where": Path("a/b.png"), "ok": np.bool_(True)},
        model="run:1",
        latency_ms=np.float64(2.0),
        source="b.png",
    )
    values = result.to_dict()
    assert json.loads(json.dumps(values)) == values
    assert values == {
        "model": "run:1",
        "latency_ms": 2.0,
        "source": "b.png",
        "points": [{"x": 1.5, "y": 2}],
        "scores": [0.25, 0.75],
        "details": {"size": [3, 4], "where": "a/b.png", "ok": True},
    }
    assert type(values["points"][0]["x"]) is float and type(values["details"]["size"][0]) is int


def test_fields_dict_leaves_fields_out_and_json_safe_uses_to_dict():
    result = Found(points=[], scores=np.zeros(2), model="m", latency_ms=0.0)
    assert set(fields_dict(result, leave_out=("scores", "details"))) == {
        "model",
        "latency_ms",
        "source",
        "points",
    }
    assert json_safe([result]) == [result.to_dict()]
