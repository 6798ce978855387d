"""Fine-tune a Bergamot-architecture model on sentence pairs; BLEU/chrF before and after.

Teacher forcing on fixed-width token arrays through the shared ``train_phase`` (its
checkpoints, early stopping, logs and resume). A held-out split is translated before
training, after every ``bleu_every`` epochs (the BLEU curve) and at the end. The run saves
a preset like the bundled ones; it scores the full vocabulary (the bundled lexical
shortlist describes the original language pair, not the adapted model).
"""

import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import keras

from apps.translate.config import MODELS
from apps.translate.data import load_pairs, token_arrays
from apps.translate.decoding import MarianGenerator
from apps.translate.evaluate import score_translator
from apps.translate.model import load_preset_directory
from apps.translate.weights import METADATA_FILE, VOCABULARY_FILE
from shared.models import resolve_model_ref
from shared.resumable import epoch_shuffled
from shared.splits import split_indices
from shared.training import train_phase


@dataclass
class Prepared:
    """Checked inputs of a fine-tune."""

    pairs: list
    base: object  # LoadedTranslator of the starting model
    preset_dir: Path


def prepare(config):
    """Read the pairs and load the starting model (errors before any run is created)."""
    pairs = load_pairs(config.data, limit=config.max_pairs)
    if len(pairs) < 2:
        raise ValueError(f"{config.data}: need at least 2 sentence pairs, found {len(pairs)}")
    resolved = resolve_model_ref(config.model, MODELS, runs_dir=config.runs_dir)
    if resolved.kind == "preset":
        raise ValueError(
            f"{config.model}: fine-tuning starts from a Bergamot-architecture preset "
            "(bundled:, run: or a preset directory), not a hub name"
        )
    base = load_preset_directory(resolved.location, resolved.ref)
    return Prepared(pairs, base, Path(resolved.location))


def training_model(backbone):
    """The backbone's inputs → next-token logits over the whole vocabulary."""
    logits = backbone.token_embedding(backbone.output, reverse=True)
    return keras.Model(backbone.input, logits, name="marian_translation")


def _trainable_backbone(prepared, config):
    backbone = prepared.base.backbone
    if config.mode == "scratch":
        backbone = type(backbone).from_config(backbone.get_config())
    frozen = config.mode == "feature_extract"
    backbone.token_embedding.trainable = not frozen
    for layer in backbone.encoder_layers:
        layer.trainable = not frozen
    return backbone


def _dataset(arrays, batch_size, shuffle, seed):
    import tensorflow as tf

    if shuffle:  # ordered by (seed, epoch): a resumed run sees the same batches
        dataset = epoch_shuffled(tuple(arrays), seed)
    else:
        dataset = tf.data.Dataset.from_tensor_slices(arrays)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


class BleuCurve(keras.callbacks.Callback):
    """Scores the held-out split every ``every`` epochs into ``curve`` (the BLEU curve)."""

    def __init__(self, translator, held_out, every, curve):
        super().__init__()
        self.translator, self.held_out, self.every, self.curve = translator, held_out, every, curve

    def on_epoch_end(self, epoch, logs=None):
        if self.every and (epoch + 1) % self.every == 0:
            scores = score_translator(self.translator, self.held_out)
            self.curve.append({"epoch": epoch + 1} | scores)
            print(f"epoch {epoch + 1}: held-out BLEU {scores['bleu']:.2f}", flush=True)

    def resumable_state(self):
        """The curve so far, kept with the run's backup: a resumed run keeps every point."""
        return list(self.curve)

    def restore_state(self, curve):
        self.curve[:] = curve


def train(prepared, config, plan, run, *, callbacks=(), verbose=1):
    """Fine-tune per ``config``; returns the run's metrics (BLEU/chrF before and after)."""
    pairs = prepared.pairs
    train_index, held_out_index = split_indices(
        len(pairs), config.validation_split, config.seed, max_held_out=config.max_held_out
    )
    train_pairs = [pairs[i] for i in train_index]
    held_out = [pairs[i] for i in held_out_index]
    before = score_translator(prepared.base, held_out)
    backbone = _trainable_backbone(prepared, config)
    translator = replace(
        prepared.base,
        backbone=backbone,
        generator=MarianGenerator(backbone),
        shortlist=None,
        ref=run.ref,
    )
    tokenizer = prepared.base.tokenizer
    make = lambda pairs, shuffle: _dataset(  # noqa: E731
        token_arrays(tokenizer, pairs, config.max_length), config.batch_size, shuffle, config.seed
    )
    curve = []
    compile_kwargs = {
        "loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        "metrics": [],
        "weighted_metrics": ["accuracy"],
    }
    history = train_phase(
        training_model(backbone),
        make(train_pairs, True),
        make(held_out, False),
        plan,
        run,
        config.mode,
        config.fine_tune_learning_rate,
        compile_kwargs=compile_kwargs,
        callbacks=[BleuCurve(translator, held_out, config.bleu_every, curve), *callbacks],
        verbose=verbose,
    )
    after = score_translator(translator, held_out)
    _save_preset(backbone, tokenizer, prepared, config, run.artifact("model"))
    run.save_history({config.mode: history})
    return {
        "bleu_before": before["bleu"],
        "bleu_after": after["bleu"],
        "chrf_before": before["chrf"],
        "chrf_after": after["chrf"],
        "num_pairs": len(prepared.pairs),
        "num_held_out": len(held_out),
        "split": "validation",
        "bleu_curve": [{"epoch": 0} | before] + curve,
    }


def _save_preset(backbone, tokenizer, prepared, config, target_dir):
    backbone.save_to_preset(str(target_dir))
    tokenizer.save_to_preset(str(target_dir))
    shutil.copyfile(prepared.preset_dir / VOCABULARY_FILE, Path(target_dir) / VOCABULARY_FILE)
    metadata = dict(prepared.base.metadata)
    metadata.update(shortlist=False, fine_tuned_from=config.model, data=config.data)
    if config.target_language:
        metadata["target_language"] = config.target_language
    (Path(target_dir) / METADATA_FILE).write_text(json.dumps(metadata, indent=2), "utf-8")
