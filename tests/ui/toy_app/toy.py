"""The toy app's pieces: a model catalogue, a predictor, its page views and its config."""

import functools
import time
from dataclasses import dataclass, field
from typing import Literal

from shared.models import ModelCatalog


def convert_mirror(target_dir):
    """The toy's "weights": a marker file."""
    (target_dir / "mirror.txt").write_text("reverse\n")


MODELS = ModelCatalog(
    name="toy",
    title="Toy reverser",
    default_model="bundled:mirror",
    bundled={"mirror": convert_mirror},
)
SAMPLES = {"hello": functools.partial(str, "hello toy"), "level": functools.partial(str, "level")}


@dataclass(frozen=True)
class Reversal:
    """The result of one prediction."""

    text: str
    model: str
    latency_ms: float
    source: str | None = None


class Predictor:
    """Reverses text."""

    def __init__(self, ref):
        self.ref = ref

    @classmethod
    def load(cls, ref=None):
        return cls(ref or MODELS.default_model)

    def predict(self, text, *, source=None):
        start = time.perf_counter()
        reversed_text = text[::-1]
        return Reversal(reversed_text, self.ref, (time.perf_counter() - start) * 1000, source)


def render_compact(result, text):
    import streamlit as st

    st.markdown(f"### {result.text}")


def summary(result):
    return result.text


@dataclass(frozen=True)
class ToyConfig:
    """What a toy training takes."""

    data: str = field(default="", metadata={"help": "a folder of .txt files"})
    mode: Literal["mirror", "rotate"] = field(default="mirror", metadata={"help": "how"})
    epochs: int = field(default=2, metadata={"help": "passes over the words"})
    runs_dir: str = field(default="", metadata={"help": "runs registry root"})


def write_demo_data(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for word in ("stressed", "drawer", "parts"):
        (folder / f"{word}.txt").write_text(word)


def export_reversed_words(run):
    target = run.artifact("export/words.txt")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("desserts\n")
