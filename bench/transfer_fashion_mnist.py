"""Transfer learning on Fashion-MNIST: our cached-feature recipe vs the keras-io recipe.

``python -m bench.transfer_fashion_mnist [--quick]`` trains the same new head (dropout +
dense) on the same frozen ``bundled:efficientnet_lite0`` backbone, data, epochs, batch size,
optimizer and learning rate, two ways:

- ours: ``shared.training.finetune(mode="feature_extract")``: the backbone runs once over the
  training images, then only the head trains on the cached features;
- keras-io ("Transfer learning & fine-tuning" guide): the whole model with
  ``backbone.trainable = False``, ``compile`` + ``fit`` on the images, so the frozen backbone
  runs again every epoch.

Both read the same reshuffling ``to_dataset`` pipeline (as ``apps.image_classify.train``
wires it) and are scored on the held-out official test images through the full model. Ours
scoring near chance (0.1) would mean cached features and labels came out misaligned.
"""

import argparse
import sys
import tempfile
import time

import numpy as np

from bench import common

NAME = "transfer_fashion_mnist"
MODEL = "bundled:efficientnet_lite0"
FULL = {"train": 5000, "test": 1000, "image_size": 128}
QUICK = {"train": 600, "test": 300, "image_size": 128}


def epoch_clock(start):
    """A Keras callback whose ``epoch_ends`` lists seconds since ``start`` at each epoch end."""
    import keras

    class EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epoch_ends = []

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_ends.append(time.perf_counter() - start)

    return EpochClock()


def subset(images, labels, count, seed):
    """A stratified subset of ``count`` images (``split_indices``' held-out part)."""
    from shared.splits import split_indices

    _, chosen = split_indices(labels, count / len(labels), seed)
    return images[chosen], labels[chosen]


def to_rgb(images, size):
    """28×28 grayscale → ``size``×``size`` RGB uint8 (bilinear, as the app's loaders)."""
    from PIL import Image

    resized = [
        np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR)) for image in images
    ]
    return np.repeat(np.stack(resized)[..., None], 3, axis=-1)


def load_data(settings):
    """``(train_x, train_y, test_x, test_y)``: stratified subsets, RGB at the bench size."""
    size, seed = settings["image_size"], settings["seed"]
    train_x, train_y = subset(*common.load_fashion_mnist("train"), settings["train"], seed)
    test_x, test_y = subset(*common.load_fashion_mnist("test"), settings["test"], seed)
    return to_rgb(train_x, size), train_y, to_rgb(test_x, size), test_y


def build(settings):
    """A fresh task (same seed → same head initialization) and its ``TransferParts``."""
    from apps.image_classify.model import build_transfer_classifier, transfer_parts
    from shared.training import set_seed

    set_seed(settings["seed"])
    task = build_transfer_classifier(MODEL, 10, dropout=settings["dropout"])
    size = settings["image_size"]
    task.preprocessor.image_converter.image_size = (size, size)
    return task, transfer_parts(task)


def warm_up(data, settings):
    """Pay the process' one-time TensorFlow start-up costs before any timing.

    Without it the first recipe timed would also carry them (a few seconds here).
    """
    task, parts = build(settings)
    batch = task.preprocessor.image_converter(data[0][: settings["batch_size"]].astype("float32"))
    parts.feature_extractor.predict_on_batch(batch)


def test_accuracy(parts, converter, test_x, test_y, batch_size):
    """Top-1 accuracy of the full model on the preprocessed test images."""
    from apps.image_classify.data import to_dataset

    dataset = to_dataset(test_x, test_y, batch_size, converter)
    logits = parts.model.predict(dataset, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == test_y))


def train_ours(data, settings, runs_dir):
    """``shared.training.finetune`` in feature-extraction mode; returns timings and accuracy."""
    from apps.image_classify.data import to_dataset
    from shared.runs import new_run
    from shared.training import TrainingPlan, finetune

    train_x, train_y, test_x, test_y = data
    task, parts = build(settings)
    converter = task.preprocessor.image_converter
    plan = TrainingPlan(
        mode="feature_extract",
        epochs=settings["epochs"],
        learning_rate=settings["learning_rate"],
        batch_size=settings["batch_size"],
        patience=settings["epochs"],  # same epoch count as keras-io: no early stop
        seed=settings["seed"],
        tensorboard=False,
    )
    run = new_run("bench", dict(settings), runs_dir=runs_dir)
    start = time.perf_counter()
    clock = epoch_clock(start)
    train = to_dataset(train_x, train_y, plan.batch_size, converter, seed=plan.seed)
    histories = finetune(parts, train, None, plan, run, callbacks=[clock], verbose=0)
    seconds = time.perf_counter() - start
    accuracy = test_accuracy(parts, converter, test_x, test_y, plan.batch_size)
    return _result(seconds, clock, histories["head"], accuracy)


def train_keras_io(data, settings):
    """The keras-io recipe: frozen backbone inside the model, ``fit`` on the images."""
    import keras

    train_x, train_y, test_x, test_y = data
    task, parts = build(settings)
    converter = task.preprocessor.image_converter
    parts.backbone.trainable = False
    parts.model.compile(
        optimizer=keras.optimizers.Adam(settings["learning_rate"]),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    clock = epoch_clock(start)
    train = reshuffled(train_x, train_y, settings["batch_size"], converter, settings["seed"])
    history = parts.model.fit(train, epochs=settings["epochs"], callbacks=[clock], verbose=0)
    seconds = time.perf_counter() - start
    accuracy = test_accuracy(parts, converter, test_x, test_y, settings["batch_size"])
    return _result(seconds, clock, history.history, accuracy)


def reshuffled(images, labels, batch_size, preprocess, seed):
    """keras-io's input: in-memory images reshuffled every epoch, preprocessed per batch."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    dataset = dataset.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(
        lambda x, y: (preprocess(tf.cast(x, "float32")), y), num_parallel_calls=tf.data.AUTOTUNE
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def _result(seconds, clock, history, accuracy):
    return {
        "wall_s": seconds,
        "first_epoch_end_s": clock.epoch_ends[0] if clock.epoch_ends else None,
        "epoch_ends_s": clock.epoch_ends,
        "epochs_run": len(clock.epoch_ends),
        "final_train_accuracy": float(history["accuracy"][-1]),
        "test_accuracy": accuracy,
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.transfer_fashion_mnist")
    parser.add_argument(
        "--quick", action="store_true", help="600 train / 300 test images (full: 5000 / 1000)"
    )
    parser.add_argument("--epochs", type=int, default=10)
    return parser.parse_args(argv)


def main(argv=None):
    """Run both recipes, write ``bench/results/transfer_fashion_mnist.json``, print a table."""
    args = parse_args(argv)
    common.setup_environment()
    begin = time.perf_counter()
    settings = dict(QUICK if args.quick else FULL)
    settings |= {
        "model": MODEL,
        "quick": args.quick,
        "epochs": args.epochs,
        "batch_size": 32,
        "learning_rate": 1e-3,
        "optimizer": "Adam",
        "dropout": 0.2,
        "seed": 42,
        "head": "dropout + dense (keras-hub ImageClassifier head)",
        "data": f"Fashion-MNIST idx files in {common.FASHION_MNIST_DIR}, stratified subsets "
        "of the official train / test splits, grayscale repeated to RGB",
    }
    data = load_data(settings)
    warm_up(data, settings)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-runs-") as runs_dir:
        results["ours"] = train_ours(data, settings, runs_dir)
        results["keras_io"] = train_keras_io(data, settings)
    speedup = results["keras_io"]["wall_s"] / results["ours"]["wall_s"]
    machine = common.machine_info()
    payload = {
        "benchmark": NAME,
        "machine": machine,
        "settings": settings,
        "results": results,
        "speedup": speedup,
        "script_wall_s": time.perf_counter() - begin,
    }
    path = common.write_results(NAME, payload)
    print(
        f"Fashion-MNIST {settings['train']} train / {settings['test']} test at "
        f"{settings['image_size']}x{settings['image_size']}, {settings['epochs']} epochs, "
        f"{MODEL}, {machine['cpu_count']} CPU cores ({machine['cpu_model']})"
    )
    labels = {
        "ours": "ours (cached features)",
        "keras_io": "keras-io (fit, frozen)",
    }
    rows = [
        [
            labels[key],
            f"{result['wall_s']:.1f}",
            f"{result['first_epoch_end_s']:.1f}",
            f"{result['final_train_accuracy']:.3f}",
            f"{result['test_accuracy']:.3f}",
        ]
        for key, result in results.items()
    ]
    common.print_table(["recipe", "wall s", "1st epoch s", "train acc", "test acc"], rows)
    print(
        f"speed-up (keras-io wall / ours wall): {speedup:.1f}x; "
        f"script {payload['script_wall_s']:.0f} s; written to {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
