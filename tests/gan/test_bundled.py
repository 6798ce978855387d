"""The bundled DCGAN face generator: its conversion, its samples, the predict command line
without --model, and a fine-tune that starts from it."""

import json

import numpy as np
import pytest
from PIL import Image

from apps.detection.predictor import Predictor as FaceDetector
from apps.gan import predict, train
from apps.gan.config import FinetuneConfig
from apps.gan.model import load_generator, sample
from apps.gan.networks import build_tutorial_generator
from apps.gan.predictor import Predictor
from apps.gan.weights import dcgan_faces_checkpoint, port_tutorial_generator
from shared.lifecycle import run_training
from shared.torch_pickle import load_checkpoint

CONVTRANSPOSE_INDICES = (0, 3, 6, 9, 12)


@pytest.fixture(scope="module")
def state():
    """The packaged generator's state dict, name → numpy array."""
    return load_checkpoint(dcgan_faces_checkpoint())["netG_state_dict"]


def _conv_transpose(x, weight, stride, padding):
    """PyTorch's ConvTranspose2d by its definition: each input pixel adds its weighted
    kernel at ``stride`` spacing, then ``padding`` pixels are cropped from every side."""
    count, _, height, width = x.shape
    _, channels, kernel, _ = weight.shape
    full = np.zeros(
        (count, channels, (height - 1) * stride + kernel, (width - 1) * stride + kernel)
    )
    products = np.einsum("ncij,cokl->noijkl", x, weight)
    for row in range(kernel):
        for column in range(kernel):
            rows = slice(row, row + (height - 1) * stride + 1, stride)
            columns = slice(column, column + (width - 1) * stride + 1, stride)
            full[:, :, rows, columns] += products[..., row, column]
    end_row, end_column = full.shape[2] - padding, full.shape[3] - padding
    return full[:, :, padding:end_row, padding:end_column]


def _reference_generator(state, latent):
    """The PyTorch tutorial generator in eval mode, in float64 numpy: NHWC images."""
    x = latent.astype("float64")[:, :, None, None]
    for layer, index in enumerate(CONVTRANSPOSE_INDICES):
        stride, padding = (1, 0) if layer == 0 else (2, 1)
        x = _conv_transpose(x, state[f"main.{index}.weight"].astype("float64"), stride, padding)
        if index == CONVTRANSPOSE_INDICES[-1]:
            return np.tanh(x).transpose(0, 2, 3, 1)
        gamma, beta, mean, var = (
            state[f"main.{index + 1}.{name}"][:, None, None]
            for name in ("weight", "bias", "running_mean", "running_var")
        )
        x = np.maximum((x - mean) / np.sqrt(var + 1e-5) * gamma + beta, 0.0)


@pytest.mark.real_weights
def test_the_packaged_checkpoint_is_the_tutorial_generator(state):
    assert len(state) == 25
    counters = [name for name in state if name.endswith("num_batches_tracked")]
    parameters = sum(value.size for name, value in state.items() if name not in counters)
    assert parameters == 3_578_624
    assert state["main.0.weight"].shape == (100, 512, 4, 4)
    assert state["main.12.weight"].shape == (64, 3, 4, 4)


@pytest.mark.real_weights
def test_the_keras_generator_matches_the_pytorch_definition(state):
    generator = port_tutorial_generator(state, build_tutorial_generator())
    latent = np.random.default_rng(0).standard_normal((2, 100)).astype("float32")
    images = np.asarray(generator(latent, training=False))
    assert images.shape == (2, 64, 64, 3)
    np.testing.assert_allclose(images, _reference_generator(state, latent), atol=1e-4)


def _faces_found(images):
    """How many of the 64x64 images the face detector finds a face in (at 128x128)."""
    detector = FaceDetector.load("bundled:mtcnn_faces")
    enlarged = [
        np.asarray(Image.fromarray(image).resize((128, 128), Image.BICUBIC)) for image in images
    ]
    return sum(bool(detector.predict(image).detections) for image in enlarged)


@pytest.mark.real_weights
def test_the_default_generator_draws_faces():
    predictor = Predictor.load()
    samples = predictor.predict(16, seed=0)
    assert predictor.ref == "bundled:dcgan_faces" and samples.model == "bundled:dcgan_faces"
    assert samples.images.shape == (16, 64, 64, 3) and samples.images.dtype == np.uint8
    assert samples.images.std() > 20  # varied images, not one flat colour
    assert _faces_found(samples.images) >= 12
    # The same architecture untrained draws no faces: the detector is not fooled by anything.
    assert _faces_found(sample(build_tutorial_generator(), 16, 0)) <= 2


@pytest.mark.real_weights
def test_predict_samples_the_default_generator_without_a_model(tmp_path, capsys):
    assert predict.main(["--num-samples", "4", "--out", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "bundled:dcgan_faces" and report["num_samples"] == 4
    assert len(report["files"]) == 4
    with Image.open(report["files"][0]) as image:
        assert image.size == (64, 64)


@pytest.fixture(scope="module")
def faces_folder(tmp_path_factory):
    """16 grey 64x64 faces: the first of scikit-image's LFW subset, enlarged."""
    from skimage import data

    folder = tmp_path_factory.mktemp("faces")
    for index, face in enumerate(data.lfw_subset()[:16]):
        image = Image.fromarray(np.round(face * 255).astype("uint8")).convert("RGB")
        image.resize((64, 64), Image.BICUBIC).save(folder / f"face_{index:02d}.png")
    return folder


@pytest.mark.real_weights
def test_a_finetune_starts_from_the_pretrained_generator(faces_folder, tmp_path):
    config = FinetuneConfig.tiny(
        data=str(faces_folder), model="bundled:dcgan_faces", runs_dir=str(tmp_path)
    )
    assert config.pretrained and config.discriminator == "dcgan"
    pretrained = load_generator("bundled:dcgan_faces")[0]
    run = run_training("gan", config, train, verbose=0)
    metrics = run.metrics
    assert metrics["start"] == "bundled:dcgan_faces" and metrics["architecture"] == "dcgan"
    assert metrics["image_size"] == 64 and np.isfinite(metrics["fid"])
    assert [point["epoch"] for point in metrics["curve"]] == [0, 1]  # its start, then epoch 1
    assert metrics["curve"][0]["train_seconds"] == 0
    tuned = Predictor.load(run.ref, runs_dir=tmp_path)
    assert tuned.generator.input_shape[-1] == 100
    before, after = sample(pretrained, 4, 0), tuned.predict(4, seed=0).images
    assert after.shape == (4, 64, 64, 3) and not np.array_equal(before, after)
