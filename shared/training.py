"""The one training recipe: feature extraction, fine-tuning, or training from scratch.

- ``feature_extract``: the backbone is frozen, so its features are computed once (and kept in
  the run folder), and only the head trains on them: epochs cost a matrix multiply, not a
  forward pass of the backbone.
- ``fine_tune``: the same head warm-up first, then the top ``unfreeze_blocks`` blocks of the
  backbone are unfrozen (BatchNorm stays frozen and in inference mode) and the model is
  recompiled at a lower learning rate.
- ``scratch``: the whole model trains from its initial weights.

Each phase uses the standard Keras callbacks (EarlyStopping, ModelCheckpoint, CSVLogger,
TensorBoard) and a crash-safe BackupAndRestore (``shared.resumable.ResumableFit``) that keeps
their state, the history and the random streams with each epoch's backup; a finished phase
leaves a marker and its weights in the run, so a killed run resumes where it stopped and ends
as the uninterrupted run would have.
"""

import dataclasses
import functools
import importlib.util
import logging
import shutil
import zlib
from dataclasses import dataclass

import numpy as np

from shared import resumable
from shared.atomic_io import atomic_write_json, read_json
from shared.batches import feature_batches, fit_batches
from shared.row_store import RowFile, RowWriter
from shared.unfreeze import unfreeze_top_blocks

MODES = ("feature_extract", "fine_tune", "scratch")


@dataclass
class TransferParts:
    """The pieces of a transfer-learning model the recipe needs (layers shared between them).

    Attributes:
        model: inputs -> logits, the whole network.
        backbone: the pretrained feature network inside ``model``.
        feature_extractor: inputs -> pooled features (the frozen part in feature extraction).
        head: pooled features -> logits, made of the same layer objects as ``model``'s head.
    """

    model: object
    backbone: object
    feature_extractor: object
    head: object


@dataclass(frozen=True)
class TrainingPlan:
    """How to train; apps fill it from their config."""

    mode: str = "feature_extract"
    epochs: int = 10
    head_epochs: int = 5
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float = 1e-4
    unfreeze_blocks: int = 2
    batch_size: int = 32
    patience: int = 3
    seed: int = 42
    jit_compile: bool = False
    tensorboard: bool = True

    @classmethod
    def from_config(cls, config, **overrides):
        """A plan from an app's config: every plan field the config has, then ``overrides``
        (e.g. ``jit_compile=setup.jit_compile``)."""
        names = [field.name for field in dataclasses.fields(cls)]
        values = {name: getattr(config, name) for name in names if hasattr(config, name)}
        return cls(**(values | overrides))

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, received {self.mode!r}")


def set_seed(seed):
    """Seed Python, numpy and the backend (``keras.utils.set_random_seed``)."""
    import keras

    keras.utils.set_random_seed(seed)


@functools.cache
def tensorboard_available():
    """Whether Keras' TensorBoard callback can write here (it writes through TensorFlow);
    says once, as a warning, why not."""
    if importlib.util.find_spec("tensorflow") is not None:
        return True
    logging.getLogger(__name__).warning(
        "TensorBoard logs need TensorFlow, which is not installed: none are written "
        "(the run still keeps its history CSV and plot)"
    )
    return False


def _callbacks(run, phase, plan, monitor, extra, seeded_layers=()):
    """The phase's Keras callbacks; the last one is its ``ResumableFit``."""
    import keras

    stopping = keras.callbacks.EarlyStopping(
        monitor=monitor,
        patience=plan.patience,
        # best-by-training-loss is not "best": only a held-out split picks weights
        restore_best_weights=monitor.startswith("val_"),
    )
    checkpoint = resumable.AtomicModelCheckpoint(
        str(run.artifact(f"checkpoints/{phase}.best.weights.h5")),
        monitor=monitor,
        save_best_only=True,
        save_weights_only=True,
    )
    callbacks = [
        resumable.RunGuard(run.path),
        stopping,
        checkpoint,
        keras.callbacks.CSVLogger(str(run.artifact(f"history_{phase}.csv")), append=True),
    ]
    if plan.tensorboard and tensorboard_available():
        callbacks.append(keras.callbacks.TensorBoard(str(run.artifact(f"tensorboard/{phase}"))))
    # Last: it saves the state the others reached at the end of each epoch.
    backup = resumable.ResumableFit(
        run.artifact(f"backup/{phase}"),
        resumable.derived_seed(plan.seed, zlib.crc32(phase.encode())),
        early_stopping=stopping,
        checkpoint=checkpoint,
        seeded_layers=seeded_layers,
        companions=[callback for callback in extra if hasattr(callback, "restore_state")],
    )
    return callbacks + list(extra) + [backup]


def _compile(model, learning_rate, plan, compile_kwargs):
    import keras

    options = {
        "optimizer": keras.optimizers.Adam(learning_rate),
        "loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        "metrics": ["accuracy"],
        "jit_compile": plan.jit_compile,
    }
    options.update(compile_kwargs or {})
    model.compile(**options)


def extract_features(feature_extractor, dataset, cache_path=None, verbose=1):
    """Run the frozen feature extractor over a dataset once.

    Args:
        feature_extractor: inputs -> features model.
        dataset: ``tf.data`` or ``shared.batches`` of ``(inputs, labels)`` batches.
        cache_path: optional file to keep the features in (``PATH`` rows, ``PATH.json``,
            ``PATH.labels.npy``; a resumed run reuses them); else an unnamed temporary file.
        verbose: Keras progress bar.

    Returns:
        ``(features, labels)``: the features in a ``shared.row_store.RowFile`` on disk (memory
        stays flat however large the dataset), the labels a numpy array.
    """
    labels_path = None
    if cache_path is not None:
        labels_path = cache_path.with_name(cache_path.name + ".labels.npy")
    if cache_path is not None and labels_path.exists():
        try:
            return RowFile.open(cache_path), np.load(labels_path)
        except ValueError:  # incomplete (stopped while writing): extracted again
            pass
    import keras

    # One pass over the data, features and labels together: a shuffling pipeline would
    # give two passes in two different orders. An ``epoch_shuffled`` pipeline gives its
    # epoch-0 order, whatever ran before in this process.
    resumable.set_data_epoch(0)
    rows, labels = RowWriter(dtype="float32", path=cache_path), []
    progress = keras.utils.Progbar(None, unit_name="batch") if verbose else None
    for step, (outputs, targets) in enumerate(feature_batches(feature_extractor, dataset)):
        rows.extend(np.asarray(outputs, "float32"))
        labels.append(np.asarray(targets))
        if progress is not None:
            progress.update(step + 1)
    features, labels = rows.finish(), np.concatenate(labels)
    if labels_path is not None:
        partial = labels_path.with_name(labels_path.name + ".partial.npy")
        np.save(partial, labels)
        partial.replace(labels_path)
    return features, labels


def _run_phase(run, phase, model, fit, callbacks, epochs, trained=None):
    """Run ``fit(callbacks, initial_epoch)`` once, resuming ``trained`` (default ``model``)
    from the phase's backup; a phase finished earlier is restored from its saved weights."""

    weights_path = run.artifact(f"phases/{phase}.weights.h5")
    history_path = run.artifact(f"phases/{phase}.history.json")
    if weights_path.exists() and history_path.exists():
        model.load_weights(str(weights_path))
        return read_json(history_path)
    backup = callbacks[-1]
    initial_epoch = backup.restore(model if trained is None else trained)
    resumable.trim_csv(run.artifact(f"history_{phase}.csv"), initial_epoch)
    # An early stop already decided: no more epochs, only EarlyStopping's best weights.
    fit(callbacks, epochs if backup.stopped else initial_epoch)
    history = {key: [float(value) for value in values] for key, values in backup.history.items()}
    resumable.atomic_save_weights(model, weights_path)
    atomic_write_json(history_path, history)
    shutil.rmtree(backup.folder, ignore_errors=True)
    return history


def _train_head(parts, train, val, plan, run, epochs, options):
    """Feature extraction: features once, then the head alone on them."""

    parts.backbone.trainable = False
    verbose = options["verbose"]
    features_dir = run.artifact("features")
    train_x, train_y = extract_features(
        parts.feature_extractor, train, features_dir / "train", verbose
    )
    validation = None
    if val is not None:
        validation = extract_features(parts.feature_extractor, val, features_dir / "val", verbose)
    _compile(parts.head, plan.learning_rate, plan, options["compile_kwargs"])
    monitor = "val_loss" if validation is not None else "loss"
    callbacks = _callbacks(run, "head", plan, monitor, options["callbacks"])
    # Ordered by (seed, epoch), not by how often this process iterated it: resumable.
    batches = fit_batches((train_x, train_y), plan.batch_size, seed=plan.seed)
    if validation is not None:
        validation = fit_batches(validation, plan.batch_size)
    return _run_phase(
        run,
        "head",
        parts.model,
        lambda callbacks, initial_epoch: parts.head.fit(
            batches,
            validation_data=validation,
            epochs=epochs,
            initial_epoch=initial_epoch,
            shuffle=False,
            callbacks=callbacks,
            verbose=verbose,
        ),
        callbacks,
        epochs,
        trained=parts.head,
    )


def train_phase(model, train, val, plan, run, phase, learning_rate, **options):
    """Compile ``model`` and fit it on ``train`` as one resumable phase of ``run``.

    The building block of every mode, public for models that are not classifiers (e.g. a
    speech decoder trained on token sequences: pass ``compile_kwargs`` with its loss).

    Args:
        options: ``augment`` (batch function or None), ``callbacks``, ``compile_kwargs``,
            ``verbose``.

    Returns:
        The phase's ``{metric: [per-epoch values]}``.
    """
    import keras

    _compile(model, learning_rate, plan, options.get("compile_kwargs"))
    augment = options.get("augment")
    if augment is not None:
        train = train.map(lambda x, y: (augment(x), y))
    monitor = "val_loss" if val is not None else "loss"
    seeded = [augment] if isinstance(augment, keras.layers.Layer) else []
    callbacks = _callbacks(run, phase, plan, monitor, options.get("callbacks", ()), seeded)
    return _run_phase(
        run,
        phase,
        model,
        lambda callbacks, initial_epoch: model.fit(
            train,
            validation_data=val,
            epochs=plan.epochs,
            initial_epoch=initial_epoch,
            shuffle=False,  # datasets order themselves, per epoch (see ``epoch_shuffled``)
            callbacks=callbacks,
            verbose=options.get("verbose", 1),
        ),
        callbacks,
        plan.epochs,
    )


def finetune(
    parts,
    train,
    val,
    plan,
    run,
    *,
    augment=None,
    callbacks=(),
    compile_kwargs=None,
    verbose=1,
):
    """Train ``parts`` on ``train`` following ``plan``; artifacts go into ``run``.

    Args:
        parts: ``TransferParts`` of the model.
        train: ``tf.data`` of preprocessed ``(inputs, label)`` batches, not shuffled per
            epoch by the recipe (shuffle in the pipeline).
        val: the same for validation, or None.
        plan: a ``TrainingPlan``.
        run: a ``shared.runs.Run`` for checkpoints, logs and resumable phases.
        augment: optional batch -> batch function applied to training inputs when the
            backbone runs (fine-tuning, scratch); cached features cannot be augmented.
        callbacks: extra Keras callbacks for every phase (e.g. UI progress).
        compile_kwargs: overrides for ``compile()`` (optimizer, loss, metrics ...).
        verbose: Keras progress bars (1) or silence (0).

    Returns:
        ``{phase: {metric: [per-epoch values]}}``.
    """
    set_seed(plan.seed)
    options = {
        "augment": augment,
        "callbacks": callbacks,
        "compile_kwargs": compile_kwargs,
        "verbose": verbose,
    }
    histories = {}
    if plan.mode == "feature_extract":
        histories["head"] = _train_head(parts, train, val, plan, run, plan.epochs, options)
    elif plan.mode == "fine_tune":
        histories["head"] = _train_head(parts, train, val, plan, run, plan.head_epochs, options)
        unfreeze_top_blocks(parts.backbone, plan.unfreeze_blocks)
        histories["fine_tune"] = train_phase(
            parts.model, train, val, plan, run, "fine_tune", plan.fine_tune_learning_rate, **options
        )
    else:
        parts.backbone.trainable = True
        histories["scratch"] = train_phase(
            parts.model, train, val, plan, run, "scratch", plan.learning_rate, **options
        )
    return histories
