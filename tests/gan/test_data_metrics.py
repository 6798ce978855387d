"""GAN data loaders and FID/KID: closed forms, self vs noise on the real bundled features."""

import numpy as np
import pytest
from PIL import Image

from apps.gan import data as data_lib
from apps.gan import metrics
from shared import fashion_mnist


def _gaussian(rng, count, mean):
    return rng.standard_normal((count, len(mean))) + mean


def test_frechet_distance_of_shifted_unit_gaussians_is_the_squared_shift():
    rng = np.random.default_rng(0)
    shift = np.array([1.0, -2.0, 0.5, 0.0])
    a, b = _gaussian(rng, 200_000, np.zeros(4)), _gaussian(rng, 200_000, shift)
    assert metrics.frechet_distance(a, b) == pytest.approx(shift @ shift, abs=0.02)


def test_frechet_distance_matches_scipy_sqrtm_also_when_singular():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(1)
    for count_a, count_b in [(50, 80), (4, 6), (3, 40)]:  # the last two: singular covariances
        a = rng.standard_normal((count_a, 8)) * rng.uniform(0.5, 2, 8)
        b = rng.standard_normal((count_b, 8)) + 0.3
        sigma_a, sigma_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        root = scipy_linalg.sqrtm(sigma_a @ sigma_b).real
        diff = a.mean(0) - b.mean(0)
        expected = diff @ diff + np.trace(sigma_a + sigma_b - 2 * root)
        assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_frechet_distance_refuses_mismatched_features():
    with pytest.raises(ValueError, match="features"):
        metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="at least 2"):
        metrics.frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


def test_kid_is_near_zero_for_one_distribution_and_positive_for_another():
    rng = np.random.default_rng(2)
    a, b = _gaussian(rng, 400, np.zeros(16)), _gaussian(rng, 400, np.zeros(16))
    far = _gaussian(rng, 400, np.full(16, 1.0))
    same_mean, same_std = metrics.kernel_inception_distance(a, b, subsets=5, subset_size=200)
    far_mean, _ = metrics.kernel_inception_distance(a, far, subsets=5, subset_size=200)
    assert abs(same_mean) < 3 * same_std + 0.01 and same_std >= 0
    assert far_mean > 0.5


def _constant_extractor():
    """A stand-in network: per-channel means of an 8x8 resize (no weights, instant)."""
    import keras

    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))
    return metrics.FeatureExtractor(feature_size=8, model=model, description="toy")


def test_compute_fid_kid_caches_real_features_and_accepts_uint8():
    extractor = _constant_extractor()
    real = data_lib.synthetic_blobs(12, 16, seed=0)
    as_uint8 = np.round((real + 1) * 127.5).astype(np.uint8)
    first = metrics.compute_fid_kid(real, as_uint8, extractor, batch_size=5)
    metrics.compute_fid_kid(real, real, extractor, batch_size=5)
    assert len(extractor._cache) == 1
    assert first["fid"] < 1e-3 and first["num_real"] == first["num_fake"] == 12
    assert first["feature_network"] == "toy" and first["feature_size"] == 8
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        extractor(real * 255)


def test_unknown_network_and_inception_without_weights_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ValueError, match="inception_v3.*weights"):
        metrics.FeatureExtractor("inception_v3")
    with pytest.raises(ValueError, match="Unknown feature network"):
        metrics.get_feature_extractor("vgg")


@pytest.fixture(scope="module")
def extractor():
    return metrics.get_feature_extractor()


@pytest.mark.real_weights
def test_bundled_fid_kid_self_is_zero_and_noise_is_far(extractor):
    real = data_lib.synthetic_blobs(64, 32, seed=0)
    noise = np.random.default_rng(0).uniform(-1, 1, real.shape).astype("float32")
    same = metrics.compute_fid_kid(real, real, extractor)
    far = metrics.compute_fid_kid(real, noise, extractor)
    features = extractor.cached(real)
    assert features.shape == (64, 1280) and metrics.get_feature_extractor() is extractor
    scale = np.trace(np.cov(features, rowvar=False))
    assert abs(same["fid"]) < 1e-3 * scale
    assert far["fid"] > 10 * same["fid"] + 0.1 * scale
    # Subsets of one set overlap, which biases KID a little below 0: small next to noise.
    assert far["kid"] > 0.01 and abs(same["kid"]) < 0.05 * far["kid"]
    assert far["kid_std"] > 0 and far["kid_subset_size"] == 32
    assert far["feature_network"] == "efficientnet_lite0 (ImageNet, bundled)"
    assert far["feature_size"] == 128 and far["num_real"] == far["num_fake"] == 64


def test_synthetic_blobs_shape_range_and_seed():
    images = data_lib.synthetic_blobs(6, 16, seed=3)
    assert images.shape == (6, 16, 16, 3) and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1 and images.std() > 0.2
    np.testing.assert_array_equal(images, data_lib.synthetic_blobs(6, 16, seed=3))


@pytest.mark.parametrize("size", [0, 24, 28, 256])
def test_bad_image_size_is_refused(size, tmp_path):
    with pytest.raises(ValueError, match="image_size"):
        data_lib.load_images(tmp_path, size)
    with pytest.raises(ValueError, match="image_size"):
        data_lib.synthetic_blobs(2, size)


def _write_folder(root):
    images = np.round((data_lib.synthetic_blobs(5, 32) + 1) * 127.5).astype(np.uint8)
    for index, image in enumerate(images):
        folder = root / ("cats" if index < 3 else "dogs/nested")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{index}.png")
    (root / "notes.txt").write_text("not an image")
    (root / "cats" / "broken.png").write_bytes(b"\x89PNG broken")
    return images


def test_load_folder_recursively_with_subset_and_class_filter(tmp_path):
    originals = _write_folder(tmp_path)
    with pytest.raises(ValueError, match="unreadable"):  # 1 of 4 files in cats/ is broken
        data_lib.load_images(tmp_path, 32, class_filter="cats")
    (tmp_path / "cats" / "broken.png").unlink()
    images = data_lib.load_images(tmp_path, 32)
    assert images.shape == (5, 32, 32, 3) and images.dtype == np.float32
    np.testing.assert_allclose(images[0], originals[0] / 127.5 - 1, atol=1e-6)
    assert data_lib.load_images(tmp_path, 16, max_images=2, seed=1).shape == (2, 16, 16, 3)
    assert data_lib.load_images(tmp_path, 16, class_filter="cats").shape == (3, 16, 16, 3)
    gray = data_lib.load_images(tmp_path, 16, channels=1)
    assert gray.shape == (5, 16, 16, 1) and -1 <= gray.min() <= gray.max() <= 1
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        data_lib.load_images(tmp_path / "empty", 16)
    with pytest.raises(ValueError, match="not a directory"):
        data_lib.load_images(tmp_path, 16, class_filter="birds")


def test_fashion_mnist_missing_names_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "FASHION_DIR", tmp_path)
    with pytest.raises(ValueError, match="apt-get install dataset-fashion-mnist"):
        data_lib.load_images("fashion-mnist", 32)


@pytest.mark.skipif(
    not fashion_mnist.is_installed("test"),
    reason="Fashion-MNIST idx files not installed (apt-get install dataset-fashion-mnist)",
)
def test_fashion_mnist_sneakers_as_rgb():
    images = data_lib.load_images("fashion-mnist:test", 32, max_images=20, class_filter="sneaker")
    assert images.shape == (20, 32, 32, 3) and images.dtype == np.float32
    np.testing.assert_array_equal(images[..., 0], images[..., 2])
    assert images.min() >= -1 and images.max() <= 1 and images.max() > 0
    train = data_lib.load_images("fashion-mnist", 16, max_images=3, class_filter=7)
    assert train.shape == (3, 16, 16, 3)
    with pytest.raises(ValueError, match="split"):
        data_lib.load_images("fashion-mnist:valid", 16)
    with pytest.raises(ValueError, match="class"):
        data_lib.load_images("fashion-mnist", 16, class_filter="hat")


def test_tfds_unknown_name_is_a_clear_error():
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(ValueError, match="tfds:no_such_dataset_xyz"):
        data_lib.load_images("tfds:no_such_dataset_xyz", 32)


def test_tfds_mnist_with_mock_data(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    builder = tfds.builder("mnist", data_dir=str(tmp_path))
    split = tfds.core.SplitInfo(name="train", shard_lengths=[12], num_bytes=0)
    builder.info.set_splits(tfds.core.SplitDict([split]))
    builder.data_path.mkdir(parents=True)
    builder.info.write_to_directory(builder.data_dir)
    policy = tfds.testing.MockPolicy.USE_FILES
    with tfds.testing.mock_data(num_examples=12, data_dir=str(tmp_path), policy=policy):
        images = data_lib.load_images("tfds:mnist", 16, max_images=5)
    assert images.shape == (5, 16, 16, 3) and images.min() >= -1 and images.max() <= 1
    np.testing.assert_array_equal(images[..., 0], images[..., 1])
