"""Cached Whisper decoding on a tiny random backbone: exactness and search properties."""

import numpy as np
import pytest

from apps.speech.decoding import DecodeOptions, Hypothesis, SpecialTokens, WhisperGenerator
from apps.speech.search import _next_log_probs, beam_search, greedy

# A tiny vocabulary with Whisper's layout: text ids, then end-of-text and the specials.
SPECIAL = SpecialTokens(
    start_of_transcript=101, end_of_text=100, no_timestamps=106, timestamp_begin=107, space=3
)
VOCABULARY_SIZE = 140


@pytest.fixture(scope="module")
def generator():
    import keras
    import keras_hub

    keras.utils.set_random_seed(3)
    backbone = keras_hub.models.WhisperBackbone(
        vocabulary_size=VOCABULARY_SIZE,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        num_mels=8,
        max_encoder_sequence_length=40,
        max_decoder_sequence_length=24,
    )
    return WhisperGenerator(backbone, SPECIAL)


@pytest.fixture(scope="module")
def encoder_output(generator):
    features = np.random.default_rng(0).normal(size=(2, 40, 8)).astype("float32")
    return generator.encode(features)


def greedy_uncached(generator, encoder_output, prompt, options):
    """The reference: every step re-runs the decoder over the whole prefix."""
    tokens = list(prompt)
    hypothesis = Hypothesis()
    for _ in range(options.max_new_tokens):
        logits = generator.logits_uncached(encoder_output, [tokens])
        log_probs = _next_log_probs(logits, [hypothesis], options, generator.special)[0]
        token = int(log_probs.argmax())
        hypothesis.log_prob += float(log_probs[token])
        if token == SPECIAL.end_of_text or len(tokens) >= generator.max_length:
            break
        hypothesis.tokens.append(token)
        tokens.append(token)
    return hypothesis


PROMPT = [SPECIAL.start_of_transcript, SPECIAL.no_timestamps]


@pytest.mark.parametrize("timestamps", [False, True])
def test_cached_greedy_equals_uncached(generator, encoder_output, timestamps):
    options = DecodeOptions(max_new_tokens=12, timestamps=timestamps)
    prompt = PROMPT[:1] if timestamps else PROMPT
    cached = greedy(generator, encoder_output, prompt, options)
    for row, hypothesis in enumerate(cached):
        reference = greedy_uncached(generator, encoder_output[row : row + 1], prompt, options)
        assert hypothesis.tokens == reference.tokens
        assert hypothesis.log_prob == pytest.approx(reference.log_prob, rel=1e-4, abs=1e-4)
        assert len(hypothesis.tokens) > 0


def test_beam_search_scores_at_least_greedy(generator, encoder_output):
    options = DecodeOptions(max_new_tokens=10)
    for row in range(2):
        window = encoder_output[row : row + 1]
        (best_greedy,) = greedy(generator, window, PROMPT, options)
        beam = beam_search(generator, window, PROMPT, DecodeOptions(max_new_tokens=10, beam_size=4))
        assert beam.score >= best_greedy.score - 1e-6


def test_beam_of_one_is_greedy(generator, encoder_output):
    window = encoder_output[:1]
    (best_greedy,) = greedy(generator, window, PROMPT, DecodeOptions(max_new_tokens=8))
    beam = beam_search(generator, window, PROMPT, DecodeOptions(max_new_tokens=8, beam_size=1))
    assert beam.tokens == best_greedy.tokens


def test_timestamps_start_and_pair(generator, encoder_output):
    options = DecodeOptions(max_new_tokens=12, timestamps=True)
    for hypothesis in greedy(generator, encoder_output, PROMPT[:1], options):
        tokens = hypothesis.tokens
        assert tokens[0] >= SPECIAL.timestamp_begin
        stamps = [token for token in tokens if token >= SPECIAL.timestamp_begin]
        assert stamps == sorted(stamps)


def test_beam_step_with_shared_cross_attention_equals_the_batched_step(generator, encoder_output):
    """Beams attend one window's cross keys/values without copies: the same logits and
    self-attention caches as the plain step on the window repeated per beam."""
    from keras import ops

    width, window = 3, encoder_output[:1]
    frames = int(window.shape[1])
    self_cache, cross_cache = generator.empty_caches(1, frames, 12)
    _, self_cache, cross_cache = generator._prefill(
        np.asarray([PROMPT], "int32"), window, self_cache, cross_cache
    )
    rows = np.zeros(width, "int32")
    beams_cache = ops.take(self_cache, rows, axis=0)
    tokens = np.asarray([[5], [17], [42]], "int32")
    index = np.asarray(len(PROMPT), "int32")
    shared_logits, shared_cache = generator.beam_step(tokens, self_cache, cross_cache, index, rows)
    repeated = ops.repeat(cross_cache, width, axis=0)
    window_per_beam = ops.repeat(window, width, axis=0)
    logits, cache, _ = generator._step(tokens, window_per_beam, beams_cache, repeated, index)
    np.testing.assert_allclose(np.asarray(shared_logits), np.asarray(logits), atol=1e-5)
    np.testing.assert_allclose(np.asarray(shared_cache), np.asarray(cache), atol=1e-6)
    assert not np.allclose(np.asarray(shared_logits)[0], np.asarray(shared_logits)[1])
