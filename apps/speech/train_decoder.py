"""Fine-tune the Whisper decoder on (audio, transcript) pairs; WER before and after.

The encoder stays frozen, so its outputs are computed once per clip and the decoder trains
on them with teacher forcing (the same "compute the frozen part once" idea as feature
extraction). The tied token embedding (also the output layer, 20 M parameters in tiny.en)
stays frozen too: small datasets would otherwise pull rare words' embeddings around.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apps.speech.config import MODELS
from apps.speech.data import check_clips, read_manifest
from apps.speech.evaluate import word_error_rate
from apps.speech.model import SAMPLE_RATE
from apps.speech.predictor import Predictor
from apps.speech.tokenizer import METADATA_FILE, TOKENIZER_FILE
from apps.speech.windows import WINDOW_SECONDS
from shared.audio import decode_audio
from shared.models import resolve_model_ref
from shared.resumable import epoch_shuffled
from shared.splits import split_indices
from shared.training import train_phase


@dataclass
class Prepared:
    """Checked inputs of a decoder fine-tune."""

    pairs: list
    predictor: Predictor  # of the base model
    preset_dir: Path


def prepare(config):
    """Read the manifest, decode its clips and load the base model (errors before any run
    is created)."""
    pairs = read_manifest(config.data)
    check_clips(pairs, config.data)
    resolved = resolve_model_ref(config.model, MODELS, runs_dir=config.runs_dir)
    if resolved.kind == "preset":
        raise ValueError(
            f"{config.model}: decoder fine-tuning starts from a converted preset "
            "(bundled:, run: or a preset directory), not a hub name"
        )
    return Prepared(
        pairs, Predictor.load(config.model, runs_dir=config.runs_dir), Path(resolved.location)
    )


def token_arrays(tokenizer, texts, max_length):
    """Teacher-forcing arrays: decoder inputs, targets and a loss mask on the text part."""
    prompt = tokenizer.prompt_ids()
    eot = tokenizer.eot_id
    sequences = [
        (prompt + tokenizer.encode(" " + text.strip()))[:max_length] + [eot] for text in texts
    ]
    width = max(len(sequence) for sequence in sequences)
    padded = np.full((len(sequences), width), eot, "int32")
    mask = np.zeros((len(sequences), width - 1), "float32")
    for row, sequence in enumerate(sequences):
        padded[row, : len(sequence)] = sequence
        mask[row, len(prompt) - 1 : len(sequence) - 1] = 1.0
    return padded[:, :-1], padded[:, 1:], mask


def decoder_model(backbone):
    """(encoder states, tokens) → next-token logits, on the backbone's own decoder layers."""
    import keras

    states = keras.Input((None, backbone.hidden_dim), name="encoder_states")
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = backbone.decoder_embeddings(tokens)
    for layer in backbone.decoder_transformer_layers:
        x = layer(decoder_sequence=x, encoder_sequence=states)
    logits = backbone.token_embedding(backbone.decoder_layer_norm(x), reverse=True)
    return keras.Model([states, tokens], logits, name="whisper_decoder")


def _encoder_states(predictor, paths):
    loaded, length = predictor.loaded, WINDOW_SECONDS * SAMPLE_RATE
    states = []
    for path in paths:
        audio = decode_audio(path)[:length]
        features = loaded.audio_converter(np.pad(audio, (0, length - len(audio)))[None])
        states.append(np.asarray(loaded.generator.encode(features))[0])
    return np.stack(states)


def _dataset(states, inputs, targets, mask, batch_size, shuffle, seed):
    import tensorflow as tf

    if shuffle:  # ordered by (seed, epoch): a resumed run sees the same batches
        dataset = epoch_shuffled(((states, inputs), targets, mask), seed)
    else:
        dataset = tf.data.Dataset.from_tensor_slices(((states, inputs), targets, mask))
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _wer(predictor, pairs):
    hypotheses = [predictor.predict(decode_audio(path)).text for path, _ in pairs]
    return word_error_rate([text for _, text in pairs], hypotheses)


def train(prepared, config, plan, run, *, callbacks=(), verbose=1):
    """Decoder fine-tune with WER on the held-out clips before and after; saves a preset."""
    import keras

    pairs, predictor = prepared.pairs, prepared.predictor
    train_index, val_index = split_indices(len(pairs), config.validation_split, config.seed)
    held_out = [pairs[i] for i in (val_index if len(val_index) else train_index)]
    wer_before = _wer(predictor, held_out)
    backbone = predictor.loaded.generator.backbone
    states = _encoder_states(predictor, [path for path, _ in pairs])
    inputs, targets, mask = token_arrays(
        predictor.loaded.tokenizer,
        [text for _, text in pairs],
        backbone.max_decoder_sequence_length - 1,
    )
    backbone.token_embedding.trainable = False
    model = decoder_model(backbone)
    make = lambda index, shuffle: _dataset(  # noqa: E731
        states[index],
        inputs[index],
        targets[index],
        mask[index],
        config.batch_size,
        shuffle,
        config.seed,
    )
    compile_kwargs = {
        "loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        "metrics": [],
        "weighted_metrics": ["accuracy"],
    }
    history = train_phase(
        model,
        make(train_index, True),
        make(val_index, False) if len(val_index) else None,
        plan,
        run,
        "decoder",
        config.fine_tune_learning_rate,
        compile_kwargs=compile_kwargs,
        callbacks=callbacks,
        verbose=verbose,
    )
    wer_after = _wer(predictor, held_out)
    _save_preset(backbone, prepared.preset_dir, run.artifact("model"))
    run.save_history({"decoder": history})
    return {
        "task": "transcribe",
        "wer_before": wer_before,
        "wer_after": wer_after,
        "num_clips": len(pairs),
        "num_held_out": len(held_out),
        "split": "validation" if len(val_index) else "train",
    }


def _save_preset(backbone, base_dir, target_dir):
    """The fine-tuned backbone plus the base preset's tokenizer and metadata."""
    backbone.save_to_preset(str(target_dir))
    (Path(target_dir) / TOKENIZER_FILE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(base_dir / TOKENIZER_FILE, Path(target_dir) / TOKENIZER_FILE)
    shutil.copyfile(base_dir / METADATA_FILE, Path(target_dir) / METADATA_FILE)
