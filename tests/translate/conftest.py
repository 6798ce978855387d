"""Fixtures of the translation tests: a tiny random model, and the real bundled models."""

import csv
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"


def read_parity(name):
    """(sources, native outputs) of a committed reference file."""
    with open(DATA / name, encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row["source"] for row in rows], [row["native"] for row in rows]


@pytest.fixture(scope="session")
def tiny_backbone():
    """A random two-by-two-layer ``MarianBackbone`` over 60 ids (mechanics only)."""
    import keras

    from apps.translate.backbone import MarianBackbone

    keras.utils.set_random_seed(3)
    backbone = MarianBackbone(
        vocabulary_size=60,
        num_encoder_layers=2,
        num_decoder_layers=2,
        hidden_dim=16,
        num_heads=2,
        intermediate_dim=32,
    )
    # Random initial output weights give near-uniform logits; sharpen them so that greedy
    # paths are well separated from ties and long enough to exercise the cache.
    embedding = backbone.token_embedding
    embedding.embeddings.assign(np.random.default_rng(0).normal(0, 1.0, (60, 16)))
    return backbone


@pytest.fixture(scope="session")
def bundled_en_pt():
    from apps.translate.predictor import Predictor

    return Predictor.load("bundled:bergamot_en_pt")


@pytest.fixture(scope="session")
def bundled_pt_en():
    from apps.translate.predictor import Predictor

    return Predictor.load("bundled:bergamot_pt_en")
