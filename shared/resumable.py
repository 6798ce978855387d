"""Crash-safe, per-epoch training state: a killed ``fit`` resumes as if it had never stopped.

After every epoch, ``ResumableFit`` writes one *generation* into the phase's backup folder:
the model and optimizer weights, the early-stopping best weights when they changed, and last a
small JSON (epoch, full history, EarlyStopping and ModelCheckpoint state). Each file is
written to a temp file and renamed, and the JSON is renamed last, so a kill at any point
leaves the previous generation whole. Resuming loads the newest generation that reads back
whole and falls back to the one before (or to the start of the phase) with a warning.

Randomness is a function of (seed, epoch): at each epoch start the Python, NumPy and Keras
generators (dropout, augmentation layers) are reseeded, and ``epoch_shuffled`` datasets
order their elements by (seed, epoch), so where a process restarted changes nothing.
"""

import csv
import errno
import io
import logging
import os
import random
import re
import shutil
from pathlib import Path

import keras
import numpy as np

from shared.atomic_io import atomic_write_json, atomic_write_text, read_json

logger = logging.getLogger(__name__)
KEEP_GENERATIONS = 2  # the newest, and the one before it to fall back on
GENERATION = re.compile(r"epoch-(\d+)\.json")
_epoch_variable = None  # the epoch that ``epoch_shuffled`` datasets read (one fit at a time)
_data_epoch = 0  # the same epoch for backend-agnostic pipelines (``shared.batches``)


def fsync_file(path):
    """Flush a written file to disk, so that a rename after it never exposes a hole."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def atomic_save_weights(model, path):
    """``model.save_weights`` into a temp file beside ``path``, then rename it over."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".partial-{path.name}")
    check_free_space(model, path.parent)
    try:
        model.save_weights(str(partial), overwrite=True)
        fsync_file(partial)
        os.replace(partial, path)
    except BaseException:
        discard_partial_h5(partial)
        raise


def check_free_space(model, folder):
    """Raise ``OSError(ENOSPC)`` when ``folder`` lacks room for ``model``'s weights file.

    HDF5 failing mid-write on a full disk leaves a file it cannot close, and the process
    dies of a segfault on exit: better to refuse before writing.
    """
    optimizer = getattr(model, "optimizer", None)
    variables = list(model.variables) + list(getattr(optimizer, "variables", None) or [])
    size = sum(int(np.prod(var.shape)) * np.dtype(var.dtype).itemsize for var in variables)
    needed = int(size * 1.1) + (256 << 10)  # HDF5 metadata
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise OSError(
            errno.ENOSPC,
            f"No space left on device: {free >> 10} KiB free in {folder}, "
            f"a checkpoint needs about {needed >> 10} KiB",
        )


def discard_partial_h5(path):
    """Close the HDF5 file a failed Keras save left open on ``path``, then delete it.

    Keras does not close its store when a write fails (e.g. a full disk); left open, HDF5
    retries the flush when Python exits, and the process dies of a segfault.
    """
    import h5py

    target = os.path.abspath(path)
    if os.path.exists(target):
        os.truncate(target, 0)  # frees the blocks HDF5's closing flush needs on a full disk
    for file_id in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE):
        try:
            if os.path.abspath(os.fsdecode(file_id.name)) == target:
                while file_id.valid:
                    file_id.close()
        except (OSError, RuntimeError, ValueError):
            continue  # a failed flush still releases the handle
    Path(path).unlink(missing_ok=True)


def derived_seed(*values):
    """A 31-bit seed that depends only on ``values`` (e.g. seed, phase number, epoch)."""
    return int(np.random.SeedSequence([int(value) for value in values]).generate_state(1)[0] >> 1)


def data_epoch():
    """The epoch that per-epoch ordered pipelines read (set by ``set_data_epoch``)."""
    return _data_epoch


def set_data_epoch(epoch):
    """Set the epoch that ``epoch_shuffled`` datasets and ``shared.batches`` read."""
    global _data_epoch
    _data_epoch = int(epoch)
    if _epoch_variable is not None:  # TensorFlow only once a ``tf.data`` pipeline needs it
        _epoch_variable.assign(_data_epoch)


def epoch_variable():
    """The process-wide epoch counter that ``epoch_shuffled`` datasets read when iterated."""
    global _epoch_variable
    if _epoch_variable is None:
        import tensorflow as tf

        _epoch_variable = tf.Variable(
            _data_epoch, dtype=tf.int64, trainable=False, name="data_epoch"
        )
    return _epoch_variable


def epoch_shuffled(arrays, seed):
    """A ``tf.data`` of the rows of ``arrays`` (a nest of arrays of equal length) in an
    order set by ``(seed, epoch)`` alone.

    Unlike ``Dataset.shuffle(reshuffle_each_iteration=True)``, whose n-th order depends on
    how many times this process iterated it, a resumed run sees the same order per epoch.
    """
    import tensorflow as tf

    tensors = tf.nest.map_structure(tf.constant, arrays)
    size = int(tf.nest.flatten(tensors)[0].shape[0])
    rows = epoch_indices(size, seed).map(
        lambda index: tf.nest.map_structure(lambda tensor: tf.gather(tensor, index), tensors)
    )
    return rows.apply(tf.data.experimental.assert_cardinality(size))


def epoch_indices(size, seed):
    """A ``tf.data`` of ``range(size)`` in the order ``epoch_shuffled`` gives its rows: set by
    ``(seed, epoch)`` alone, read from the epoch counter each time it is iterated."""
    import tensorflow as tf

    epoch = epoch_variable()

    def order(_):
        key = tf.stack([tf.constant(seed, tf.int64), epoch.read_value()])
        indices = tf.random.experimental.stateless_shuffle(tf.range(size, dtype=tf.int64), key)
        return tf.data.Dataset.from_tensor_slices(indices)

    indices = tf.data.Dataset.from_tensors(0).flat_map(order)
    return indices.apply(tf.data.experimental.assert_cardinality(size))


def _seed_generators(layers):
    for layer in layers:
        for sublayer in layer._flatten_layers(include_self=True):
            yield from getattr(sublayer, "_seed_generators", ())


def reseed(seed, epoch, layers=()):
    """Reseed Python, NumPy, Keras and the seed generators of ``layers`` from (seed, epoch)."""
    epoch_seed = derived_seed(seed, epoch)
    keras.utils.set_random_seed(epoch_seed)
    random.seed(epoch_seed)
    for index, generator in enumerate(_seed_generators(layers)):
        state = np.array([derived_seed(epoch_seed, index), 0])
        generator.state.assign(state.astype(generator.state.dtype))
    set_data_epoch(epoch)


def trim_csv(path, epochs):
    """Keep the header and the rows of epochs ``< epochs`` of a CSVLogger file.

    A kill after CSVLogger wrote an epoch but before its backup was committed would
    otherwise leave a duplicate row once that epoch runs again.
    """
    path = Path(path)
    if not path.exists():
        return
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    kept = rows[:1] + [row for row in rows[1:] if row and row[0].isdigit() and int(row[0]) < epochs]
    if len(kept) <= 1:
        path.unlink()
    elif len(kept) != len(rows):
        text = io.StringIO()
        csv.writer(text).writerows(kept)  # the excel dialect CSVLogger writes
        atomic_write_text(path, text.getvalue())


class RunGuard(keras.callbacks.Callback):
    """Stops training when the run folder is deleted, before any callback writes into it
    (and so recreates it): put it first."""

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = Path(run_dir)

    def _check(self):
        if not self.run_dir.is_dir():
            raise FileNotFoundError(f"run folder {self.run_dir} was deleted while training")

    def on_epoch_begin(self, epoch, logs=None):
        self._check()

    def on_epoch_end(self, epoch, logs=None):
        self._check()


class ResumableFit(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` made crash-safe, and carrying what a resumed fit needs.

    Put it last in the callbacks, after the EarlyStopping and ModelCheckpoint it saves.

    Args:
        backup_dir: the phase's backup folder.
        seed: the run's seed; epoch ``e`` draws from ``(seed, e)``.
        early_stopping: the phase's EarlyStopping, or None.
        checkpoint: the phase's ModelCheckpoint, or None.
        seeded_layers: layers outside the model whose random generators are reseeded
            per epoch (e.g. an augmentation model in the input pipeline).
        companions: other callbacks with ``resumable_state()`` (a JSON value) and
            ``restore_state(value)``, saved and restored with each generation.
    """

    def __init__(
        self,
        backup_dir,
        seed,
        early_stopping=None,
        checkpoint=None,
        seeded_layers=(),
        companions=(),
    ):
        super().__init__(str(backup_dir), delete_checkpoint=False)
        self.folder = Path(backup_dir)
        self.seed = seed
        self.early_stopping = early_stopping
        self.checkpoint = checkpoint
        self.seeded_layers = tuple(seeded_layers)
        self.companions = tuple(companions)
        self.history = {}
        self.initial_epoch = 0
        self.stopped = False
        self._restored = None

    def restore(self, model):
        """Load the newest whole generation into ``model``; returns the epoch to start at."""
        self.set_model(model)
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        variables = list(model.variables) + list(getattr(model.optimizer, "variables", []))
        untouched = [variable.numpy() for variable in variables]
        for path in _generations(self.folder):
            try:
                self._restored = self._load(path)
            except Exception as error:  # a damaged file fails in HDF5, zip or JSON ways
                logger.warning(
                    "skipping damaged backup %s (%s): resuming from an older one", path.name, error
                )
                continue
            self.history = self._restored["history"]
            self.initial_epoch = self._restored["epoch"]
            self.stopped = self._restored.get("stopped", False)
            _prune(self.folder, newest=path)  # what came after it is not this run any more
            return self.initial_epoch
        for variable, value in zip(variables, untouched):
            variable.assign(value)  # a half-loaded damaged file must not leak into the restart
        if self.folder.exists() and any(self.folder.iterdir()):
            logger.warning("no whole backup in %s: the phase starts again", self.folder)
            shutil.rmtree(self.folder)
        return 0

    def _load(self, path):
        state = read_json(path)
        weights = path.with_name(f"epoch-{state['epoch']:05d}.weights.h5")
        self.model.load_weights(str(weights))
        best = state.get("early_stopping", {}).get("best_weights")
        if best is not None:
            with np.load(self.folder / best) as stored:
                state["best_weights_values"] = [stored[f"w{i}"] for i in range(len(stored))]
        return state

    def on_train_begin(self, logs=None):
        state = self._restored or {}
        stopping, saved = state.get("early_stopping"), state.get("checkpoint")
        if self.early_stopping is not None and stopping:
            for name in ("wait", "best", "best_epoch", "stopped_epoch"):
                setattr(self.early_stopping, name, stopping[name])
            self.early_stopping.best_weights = state.get("best_weights_values")
        if self.checkpoint is not None and saved:
            self.checkpoint.best = saved["best"]
        for index, value in enumerate(state.get("companions", ())):
            self.companions[index].restore_state(value)

    def on_epoch_begin(self, epoch, logs=None):
        reseed(self.seed, epoch, (self.model, *self.seeded_layers))

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.stopped = bool(self.model.stop_training)
        self._write(epoch + 1)

    def on_train_batch_end(self, batch, logs=None):
        pass  # one generation per epoch

    def on_train_end(self, logs=None):
        pass  # the recipe removes the backup once the phase's result is saved

    def _write(self, epoch):
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_save_weights(self.model, self.folder / f"epoch-{epoch:05d}.weights.h5")
        state = {"epoch": epoch, "history": self.history, "stopped": self.stopped}
        if self.early_stopping is not None:
            state["early_stopping"] = self._early_stopping_state()
        if self.checkpoint is not None:
            state["checkpoint"] = {"best": _plain(self.checkpoint.best)}
        state["companions"] = [companion.resumable_state() for companion in self.companions]
        atomic_write_json(self.folder / f"epoch-{epoch:05d}.json", state)
        _prune(self.folder)

    def _early_stopping_state(self):
        stopping = self.early_stopping
        state = {
            name: _plain(getattr(stopping, name))
            for name in ("wait", "best", "best_epoch", "stopped_epoch")
        }
        if stopping.best_weights is not None:
            name = f"best-{stopping.best_epoch:05d}.npz"
            if not (self.folder / name).exists():
                _atomic_save_arrays(self.folder / name, stopping.best_weights)
            state["best_weights"] = name
        return state


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """``ModelCheckpoint`` that writes a temp file and renames it: a kill keeps the last one."""

    _partial = None

    def _get_file_path(self, epoch, batch, logs):
        return self._partial or super()._get_file_path(epoch, batch, logs)

    def _save_model(self, epoch, batch, logs):
        final = Path(self._get_file_path(epoch, batch, logs))
        partial = final.with_name(f".partial-{final.name}")
        final.parent.mkdir(parents=True, exist_ok=True)
        check_free_space(self.model, final.parent)
        self._partial = str(partial)
        try:
            super()._save_model(epoch, batch, logs)
        except BaseException:
            discard_partial_h5(partial)
            raise
        finally:
            self._partial = None
        if partial.exists():
            fsync_file(partial)
            os.replace(partial, final)


def _plain(value):
    """A JSON value for a callback's number (numpy scalars, None, inf)."""
    return None if value is None else float(value) if not isinstance(value, int) else value


def _atomic_save_arrays(path, arrays):
    partial = path.with_name(f".partial-{path.stem}.npz")
    np.savez(partial, **{f"w{index}": array for index, array in enumerate(arrays)})
    fsync_file(partial)
    os.replace(partial, path)


def _generations(folder):
    """The committed generations' JSON files, newest first."""
    if not folder.is_dir():
        return []
    found = [path for path in folder.iterdir() if GENERATION.fullmatch(path.name)]
    return sorted(found, key=lambda path: int(GENERATION.fullmatch(path.name)[1]), reverse=True)


def _prune(folder, newest=None):
    """Drop generations beyond the newest few (or after ``newest``), best weights they no
    longer name, and temp files."""
    generations = _generations(folder)
    if newest is not None:
        generations = generations[generations.index(newest) :]
    keep = set()
    for path in generations[:KEEP_GENERATIONS]:
        keep |= {path.name, path.name.replace(".json", ".weights.h5")}
        try:
            keep.add((read_json(path).get("early_stopping") or {}).get("best_weights"))
        except ValueError:
            continue
    for path in folder.iterdir():
        if path.name not in keep:
            path.unlink(missing_ok=True)
