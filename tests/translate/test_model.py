"""Tiny random models: cached decoding equals full passes; presets round-trip."""

import keras
import numpy as np

from apps.translate.decoding import MarianGenerator
from apps.translate.layers import SSRU
from apps.translate.search import beam_search, greedy, pad_batch

SOURCES = [[5, 9, 14, 3, 0], [7, 7, 21, 0], [30, 2, 0]]


def _uncached_greedy(generator, source, steps):
    ids, mask = pad_batch([source])
    decoder = [0]
    for _ in range(steps):
        logits = generator.logits_uncached(ids, mask, [decoder])[0]
        decoder.append(int(np.argmax(logits)))
        if decoder[-1] == 0:
            break
    return [token for token in decoder[1:] if token != 0]


def test_ssru_step_by_step_equals_full_sequence():
    layer = SSRU(8)
    x = np.random.default_rng(1).normal(size=(2, 6, 8)).astype("float32")
    full, last = layer(x)
    state, outputs = np.zeros((2, 8), "float32"), []
    for t in range(6):
        out, state = layer(x[:, t : t + 1], initial_state=state)
        outputs.append(np.asarray(out))
    np.testing.assert_allclose(np.concatenate(outputs, 1), full, atol=1e-5)
    np.testing.assert_allclose(state, last, atol=1e-5)


def test_cached_greedy_equals_full_passes(tiny_backbone):
    generator = MarianGenerator(tiny_backbone)
    hypotheses = greedy(generator, SOURCES, max_length_factor=2.5)  # batched, padded
    for source, hypothesis in zip(SOURCES, hypotheses):
        steps = max(2, int(2.5 * len(source)))
        assert hypothesis.tokens == _uncached_greedy(generator, source, steps)
    assert any(len(h.tokens) >= 3 for h in hypotheses)  # the cache was really exercised


def test_batching_does_not_change_results(tiny_backbone):
    generator = MarianGenerator(tiny_backbone)
    together = greedy(generator, SOURCES)
    alone = [greedy(generator, [source])[0] for source in SOURCES]
    assert [h.tokens for h in together] == [h.tokens for h in alone]


def test_beam_search_ranks_and_beats_greedy(tiny_backbone):
    generator = MarianGenerator(tiny_backbone)
    greedy_best = greedy(generator, SOURCES)
    beams = beam_search(generator, SOURCES, beam_size=4)
    for ranked, greedy_hypothesis in zip(beams, greedy_best):
        scores = [h.score for h in ranked]
        assert scores == sorted(scores, reverse=True) and 1 <= len(ranked) <= 4
        assert ranked[0].score >= greedy_hypothesis.score - 1e-4
    assert beam_search(generator, SOURCES, beam_size=1)[0][0].tokens == greedy_best[0].tokens


def test_preset_round_trip(tiny_backbone, tmp_path):
    import keras_hub

    tiny_backbone.save_to_preset(str(tmp_path))
    restored = keras_hub.models.Backbone.from_preset(str(tmp_path))
    assert type(restored).__name__ == "MarianBackbone"
    ids, mask = pad_batch(SOURCES)
    inputs = {
        "encoder_token_ids": ids,
        "encoder_padding_mask": mask,
        "decoder_token_ids": np.array([[0, 4, 8]] * 3, "int32"),
    }
    np.testing.assert_allclose(restored(inputs), tiny_backbone(inputs), atol=1e-6)


def test_dropout_only_while_training(tiny_backbone):
    config = tiny_backbone.get_config() | {"dropout": 0.5}
    backbone = type(tiny_backbone).from_config(config)
    backbone.set_weights(tiny_backbone.get_weights())
    ids, mask = pad_batch(SOURCES)
    inputs = {"encoder_token_ids": ids, "encoder_padding_mask": mask}
    inputs["decoder_token_ids"] = np.array([[0, 4, 8]] * 3, "int32")
    np.testing.assert_allclose(backbone(inputs), tiny_backbone(inputs), atol=1e-6)
    assert not np.allclose(backbone(inputs, training=True), tiny_backbone(inputs), atol=1e-3)
    keras.backend.clear_session(free_memory=False)
