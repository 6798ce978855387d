"""The toy app's pieces: a model catalogue, a predictor, its page views and its config."""

import functools
import time
from dataclasses import dataclass, field
from typing import Literal

from shared.models import ModelCatalog
from shared.results import Result


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


@dataclass(kw_only=True)
class Reversal(Result):
    """The result of one prediction."""

    text: str


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
        latency_ms = (time.perf_counter() - start) * 1000
        return Reversal(text=reversed_text, model=self.ref, latency_ms=latency_ms, source=source)


def render_compact(result, text):
    import streamlit as st

    st.markdown(f"### {result.text}")


def summary(result):
    return result.text


@dataclass(frozen=True)
class ToyConfig:
    """What a toy training takes."""

    data: str = field(default="", metadata={"help": "a folder of .txt files"})
    mode: Literal["scratch", "feature_extract"] = field(default="scratch", metadata={"help": "how"})
    epochs: int = field(default=2, metadata={"help": "passes over the words"})
    seed: int = field(default=0, metadata={"help": "random seed"})
    runs_dir: str | None = field(default=None, metadata={"help": "runs registry root"})
    name: str | None = field(default=None, metadata={"help": "a name to show for the run"})

    def validate(self):
        if not self.data:
            raise ValueError("--data is required: a folder of .txt files")


def write_demo_data(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for word in ("stressed", "drawer", "parts"):
        (folder / f"{word}.txt").write_text(word)


def export_reversed_words(run):
    target = run.artifact("export/words.txt")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("desserts\n")
