"""Keyword / audio-class heads on the Whisper encoder through the shared training recipe."""

from dataclasses import dataclass

import numpy as np

from apps.speech import data as data_lib
from apps.speech.model import audio_features, load_transcriber
from shared.metrics import classification_report
from shared.plots import save_confusion_matrix, save_history
from shared.resumable import epoch_shuffled
from shared.splits import split_indices
from shared.tfds import tfds_source
from shared.training import TransferParts, finetune


@dataclass
class Prepared:
    """Checked inputs of a classifier fine-tune."""

    data: object  # data_lib.ClipData
    loaded: object  # the base LoadedTranscriber


def prepare(config):
    """Load the clips and the base Whisper model (errors before any run is created)."""
    if named := tfds_source(config.data):
        name, split = named
        clips = data_lib.load_tfds_clips(
            name, config.clip_seconds, split, max_per_class=config.max_per_class
        )
    else:
        clips = data_lib.load_clip_folder(config.data, config.clip_seconds)
    loaded = load_transcriber(config.model, runs_dir=config.runs_dir)
    if not hasattr(loaded, "generator"):
        raise ValueError(f"{config.model}: class heads need a Whisper model")
    return Prepared(clips, loaded)


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


def _dataset(features, labels, batch_size, shuffle, seed):
    import tensorflow as tf

    if shuffle:  # ordered by (seed, epoch): a resumed run sees the same batches
        dataset = epoch_shuffled((features, labels), seed)
    else:
        dataset = tf.data.Dataset.from_tensor_slices((features, labels))
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def train(prepared, config, plan, run, *, callbacks=(), verbose=1):
    """Train the head (and top encoder blocks for ``fine_tune``); save model and metrics."""
    clips, backbone = prepared.data, prepared.loaded.generator.backbone
    features = audio_features(backbone.num_mels, config.clip_seconds, clips.clips)
    train_index, val_index = split_indices(len(clips.labels), config.validation_split, config.seed)
    make = lambda index, shuffle: _dataset(  # noqa: E731
        features[index], clips.labels[index], config.batch_size, shuffle, config.seed
    )
    val = make(val_index, False) if len(val_index) else None
    parts = build_parts(backbone, len(clips.class_names))
    histories = finetune(
        parts, make(train_index, True), val, plan, run, callbacks=callbacks, verbose=verbose
    )
    scored = val_index if len(val_index) else train_index
    predicted = np.argmax(parts.model.predict(features[scored], verbose=0), axis=-1)
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
