"""Keyword / audio-class heads on the Whisper encoder through the shared training recipe.

The log-mel features of the clips are NumPy arrays batched by ``shared.batches`` (``tf.data``
on TensorFlow), so the heads train on any Keras backend, data-parallel across processes on
JAX (``shared.parallel``): each process reads its part of every global batch and every
process scores the whole held-out split.
"""

from dataclasses import dataclass

import numpy as np

from apps.speech import data as data_lib
from apps.speech.model import audio_features, load_whisper_backbone
from shared import batches as batches_lib
from shared.metrics import classification_report
from shared.plots import save_confusion_matrix, save_history
from shared.splits import split_indices
from shared.tfds import tfds_source
from shared.training import TransferParts, finetune


@dataclass
class Prepared:
    """Checked inputs of a classifier fine-tune."""

    data: object  # data_lib.ClipData
    backbone: object  # the base keras_hub WhisperBackbone


def prepare(config):
    """Load the clips and the base Whisper backbone (errors before any run is created); the
    tokenizer and decoding are not needed, so none is loaded."""
    if named := tfds_source(config.data):
        name, split = named
        clips = data_lib.load_tfds_clips(
            name, config.clip_seconds, split, max_per_class=config.max_per_class
        )
    else:
        clips = data_lib.load_clip_folder(config.data, config.clip_seconds)
    return Prepared(clips, load_whisper_backbone(config.model, runs_dir=config.runs_dir))


def build_parts(backbone, num_classes, dropout=0.2):
    """Encoder → mean over time → dropout → dense, as the recipe's ``TransferParts``."""
    import keras

    encoder = keras.Model(
        backbone.input["encoder_features"],
        backbone.output["encoder_sequence_output"],
        name="whisper_encoder",
    )
    features = keras.Input((None, backbone.num_mels), name="log_mel")
    pooled = keras.layers.GlobalAveragePooling1D(name="pool")(encoder(features))
    feature_extractor = keras.Model(features, pooled, name="feature_extractor")
    feature_input = keras.Input((backbone.hidden_dim,), name="pooled")
    dropped = keras.layers.Dropout(dropout, name="head_dropout")(feature_input)
    logits = keras.layers.Dense(num_classes, name="classes", dtype="float32")(dropped)
    head = keras.Model(feature_input, logits, name="head")
    model = keras.Model(features, head(pooled), name="keyword_classifier")
    return TransferParts(model, encoder, feature_extractor, head)


def train(prepared, config, plan, run, *, callbacks=(), verbose=1):
    """Train the head (and top encoder blocks for ``fine_tune``); save model and metrics."""
    clips, backbone = prepared.data, prepared.backbone
    features = audio_features(backbone.num_mels, config.clip_seconds, clips.clips)
    train_index, val_index = split_indices(len(clips.labels), config.validation_split, config.seed)

    def batches(index, seed=None):  # ordered by (seed, epoch): a resumed run sees the same
        arrays = (features[index], clips.labels[index])
        return batches_lib.fit_batches(arrays, config.batch_size, seed=seed)

    train_set = batches(train_index, config.seed)
    val = batches(val_index) if len(val_index) else None
    batches_lib.log_steps(train_set, "clips")
    parts = build_parts(backbone, len(clips.class_names))
    histories = finetune(parts, train_set, val, plan, run, callbacks=callbacks, verbose=verbose)
    scored = val_index if len(val_index) else train_index
    # every process scores every held-out clip, also when training was data-parallel
    logits = batches_lib.predict_all(parts.model, features[scored], config.batch_size)
    predicted = np.argmax(logits, axis=-1)
    report = classification_report(clips.labels[scored], predicted, clips.class_names)
    save_confusion_matrix(
        report["confusion_matrix"], clips.class_names, run.artifact("confusion.png")
    )
    save_history(histories, run.artifact("history.png"))
    parts.model.save(run.artifact("model.keras"))
    run.save_labels(clips.class_names)
    run.save_history(histories)
    split = "validation" if len(val_index) else "train"
    return report | {"task": "classify", "split": split, "clip_seconds": config.clip_seconds}
