"""Search over Whisper's next-token distributions: logit rules, greedy and beam search."""

import numpy as np

from apps.speech.decoding import NEG_INF, Hypothesis, log_softmax
from shared.numeric import softmax


def language_probabilities(generator, encoder_output, language_ids, logits=None):
    """Whisper's language identification: the next-token distribution after
    ``<|startoftranscript|>`` alone, restricted to the language tokens.

    Args:
        generator: the ``WhisperGenerator``.
        encoder_output: one window's encoder states (batch 1).
        language_ids: ``{code: token id}`` of the model's languages.
        logits: that distribution's logits when known (``generator.start``).

    Returns:
        ``{code: probability}`` over the languages (summing to 1).
    """
    if logits is None:
        logits, _ = generator.start(encoder_output)
    probabilities = softmax(np.asarray(logits, "float64")[list(language_ids.values())])
    return dict(zip(language_ids, probabilities.tolist()))


def no_speech_probability(logits, special):
    """Whisper's no-speech probability: the softmax of the logits after
    ``<|startoftranscript|>`` (``generator.start``) at its no-speech token (None when the
    vocabulary has none)."""
    if special.no_speech is None:
        return None
    return float(softmax(np.asarray(logits, "float64"))[special.no_speech])


def _prefill(generator, tokens, encoder_output, length, cross_cache):
    """The prompt's pass: logits of its last token and the caches; ``cross_cache`` is the
    window's cross-attention keys/values from ``generator.start`` (None: compute them)."""
    frames = int(encoder_output.shape[1]) if cross_cache is None else 0  # no unused zeros
    self_cache, empty_cross = generator.empty_caches(tokens.shape[0], frames, length)
    if cross_cache is None:
        return generator._prefill(tokens, encoder_output, self_cache, empty_cross)
    return generator._prefill_cached(tokens, encoder_output, self_cache, cross_cache)


def apply_rules(logits, generated, options, special):
    """Mask tokens Whisper must not emit next (in place) and return ``logits``.

    Args:
        logits: (vocabulary,) float array for one hypothesis.
        generated: its tokens so far (without the prompt).
        options: ``DecodeOptions``.
        special: ``SpecialTokens``.
    """
    logits[list(options.suppress_tokens)] = NEG_INF
    # Special tokens other than end-of-text are never text; timestamps only when asked for.
    first_special = special.end_of_text + 1
    last_special = special.timestamp_begin if options.timestamps else len(logits)
    logits[first_special:last_special] = NEG_INF
    if not generated:
        logits[[special.space, special.end_of_text]] = NEG_INF  # no blank start
    if options.timestamps:
        _timestamp_rules(logits, generated, special)
    return logits


def _timestamp_rules(logits, generated, special):
    """Whisper's timestamp rules: start with one, pair them, never go back in time."""
    begin = special.timestamp_begin
    if not generated:
        logits[:begin] = NEG_INF
        return
    is_timestamp = [token >= begin for token in generated[-2:]]
    if is_timestamp[-1]:
        if len(is_timestamp) < 2 or is_timestamp[0]:
            logits[begin:] = NEG_INF  # a closed pair (or the opening one): text comes next
        else:
            logits[: special.end_of_text] = NEG_INF  # a segment's text ends with a timestamp
    stamps = [token for token in generated if token >= begin]
    if stamps:
        logits[begin : stamps[-1] + (0 if is_timestamp[-1] else 1)] = NEG_INF
    log_probs = log_softmax(logits[None])[0]
    if np.logaddexp.reduce(log_probs[begin:]) > log_probs[:begin].max():
        logits[:begin] = NEG_INF


def _next_log_probs(logits, hypotheses, options, special):
    rows = [
        apply_rules(row.copy(), h.tokens, options, special) for row, h in zip(logits, hypotheses)
    ]
    return log_softmax(np.stack(rows))


def greedy(generator, encoder_output, prompt, options, cross_cache=None):
    """Greedy decoding of a batch of windows; returns one ``Hypothesis`` per window.
    ``cross_cache``: the windows' cross-attention keys/values when computed already."""
    batch = int(encoder_output.shape[0])
    tokens = np.tile(np.asarray(prompt, "int32"), (batch, 1))
    length = len(prompt) + options.max_new_tokens
    logits, self_cache, cross_cache = _prefill(
        generator, tokens, encoder_output, length, cross_cache
    )
    hypotheses = [Hypothesis() for _ in range(batch)]
    done = np.zeros(batch, bool)
    eot = generator.special.end_of_text
    limit = min(options.steps, generator.max_length - len(prompt))
    for step in range(limit):
        log_probs = _next_log_probs(np.asarray(logits), hypotheses, options, generator.special)
        chosen = log_probs.argmax(axis=-1)
        for row, token in enumerate(chosen):
            if not done[row]:
                hypotheses[row].log_prob += float(log_probs[row, token])
                done[row] = token == eot
                if not done[row]:
                    hypotheses[row].tokens.append(int(token))
        if done.all() or step == limit - 1:
            break
        index = np.asarray(len(prompt) + step, "int32")
        step_tokens = np.where(done, eot, chosen)[:, None].astype("int32")
        logits, self_cache, _ = generator._step(
            step_tokens, encoder_output, self_cache, cross_cache, index
        )
    return hypotheses


def _expand(beams, log_probs, width, eot):
    """Best continuations: (finished hypotheses, live beams, rows they extend)."""
    candidates = []
    for row, beam in enumerate(beams):
        best = np.argpartition(-log_probs[row], width)[: width + 1]  # no full-vocabulary sort
        for token in best:
            candidates.append((beam.log_prob + float(log_probs[row, token]), row, int(token)))
    candidates.sort(key=lambda item: -item[0])
    finished, live, rows = [], [], []
    for log_prob, row, token in candidates:
        if token == eot:
            finished.append(Hypothesis(list(beams[row].tokens), log_prob))
        else:
            live.append(Hypothesis(beams[row].tokens + [token], log_prob))
            rows.append(row)
        if len(live) == width:  # only endings that outrank a kept beam count as finished
            break
    return finished, live, rows


def beam_search(generator, encoder_output, prompt, options, cross_cache=None):
    """Beam search over one window (``encoder_output`` of batch 1); returns the best
    ``Hypothesis`` by length-normalised log-probability. ``cross_cache``: as in ``greedy``."""
    width = options.beam_size
    # The prompt is read once (batch 1): its self-attention cache is copied to the beams at
    # the first reorder, and the window's cross-attention keys/values are shared by them.
    tokens = np.asarray(prompt, "int32")[None, :]
    length = len(prompt) + options.max_new_tokens
    logits, self_cache, cross_cache = _prefill(
        generator, tokens, encoder_output, length, cross_cache
    )
    beams, finished = [Hypothesis()], []
    eot = generator.special.end_of_text
    limit = min(options.steps, generator.max_length - len(prompt))
    for step in range(limit):
        log_probs = _next_log_probs(
            np.asarray(logits)[: len(beams)], beams, options, generator.special
        )
        done, beams, rows = _expand(beams, log_probs, width, eot)
        finished += done
        if len(finished) >= width or not beams or step == limit - 1:
            break
        rows = np.asarray(rows + [rows[0]] * (width - len(rows)), "int32")
        step_tokens = np.asarray(
            [beam.tokens[-1] for beam in beams] + [eot] * (width - len(beams)), "int32"
        )
        index = np.asarray(len(prompt) + step, "int32")
        logits, self_cache = generator.beam_step(
            step_tokens[:, None], self_cache, cross_cache, index, rows
        )
    # Beams still open when the search stops compete too (as Whisper does when too few
    # hypotheses finished): a long transcript cut by the token limit is still a transcript.
    return max(finished + beams, key=lambda hypothesis: hypothesis.score)
