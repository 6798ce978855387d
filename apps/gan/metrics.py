"""FID and KID on features of a pretrained network, with the sample counts stated.

The default network is the bundled EfficientNet-Lite0 ImageNet classifier (offline): its
pooled 1280-d top features on images resized to 128x128. Those numbers compare runs of this
app with each other; they are NOT comparable with published FIDs, which use InceptionV3.
InceptionV3 (2048-d pool features at 299x299) is used when asked for, and only when its
ImageNet weights are already on disk: nothing here downloads.
"""

import functools
import hashlib
import os
from pathlib import Path

import numpy as np

from shared.image_backbones import IMAGE_BACKBONES
from shared.models import resolve_model_ref

DEFAULT_NETWORK = "efficientnet_lite0"
# 128 rather than the classifier's 224: about 4x cheaper on a CPU, still ImageNet features.
DEFAULT_FEATURE_SIZES = {"efficientnet_lite0": 128, "inception_v3": 299}
DESCRIPTIONS = {
    "efficientnet_lite0": "efficientnet_lite0 (ImageNet, bundled)",
    "inception_v3": "inception_v3 (ImageNet)",
}
# What keras.applications.InceptionV3(weights="imagenet") saves, without and with its top.
INCEPTION_WEIGHT_FILES = (
    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
)
MAX_CACHED_SETS = 4  # real-set feature arrays kept per extractor


def _efficientnet_features(feature_size):
    import keras
    import keras_hub

    location = resolve_model_ref("bundled:efficientnet_lite0", IMAGE_BACKBONES).location
    backbone = keras_hub.models.EfficientNetBackbone.from_preset(location)
    inputs = keras.Input((feature_size, feature_size, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    return keras.Model(inputs, pooled, name="efficientnet_lite0_features")


def _inception_weights_path():
    """The InceptionV3 ImageNet weights file already on disk, or a ``ValueError``."""
    homes = [os.environ.get("KERAS_HOME"), "~/.keras"]
    folders = [Path(home).expanduser() / "models" for home in homes if home]
    for name in INCEPTION_WEIGHT_FILES:
        for folder in folders:
            if (folder / name).is_file():
                return folder / name
    raise ValueError(
        f"network='inception_v3' needs InceptionV3's ImageNet weights ({INCEPTION_WEIGHT_FILES[0]}"
        f", ~90 MB) in one of {[str(folder) for folder in folders]}, and nothing here downloads "
        'them. With the network, fetch them once: python -c "import keras; '
        "keras.applications.InceptionV3(weights='imagenet', include_top=False)\". "
        "Offline, use network='efficientnet_lite0' (bundled)."
    )


def _inception_features(feature_size):
    import keras

    if feature_size != 299:
        raise ValueError(f"inception_v3 features are taken at 299x299, got {feature_size}")
    path = _inception_weights_path()
    if path.name == INCEPTION_WEIGHT_FILES[0]:
        return keras.applications.InceptionV3(
            include_top=False, weights=str(path), input_shape=(299, 299, 3), pooling="avg"
        )
    model = keras.applications.InceptionV3(include_top=True, weights=str(path))
    return keras.Model(model.input, model.get_layer("avg_pool").output)


_BUILDERS = {"efficientnet_lite0": _efficientnet_features, "inception_v3": _inception_features}


def fingerprint(array):
    """A short hash of an array's shape, dtype and bytes (keys the real-set feature cache)."""
    array = np.ascontiguousarray(array)
    digest = hashlib.blake2b(f"{array.shape}{array.dtype}".encode(), digest_size=16)
    digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def _to_model_range(images):
    """uint8 [0, 255] or float [-1, 1] images, 1 or 3 channels → float32 RGB in [-1, 1]."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"expected images (N, H, W, 1 or 3), got shape {images.shape}")
    if images.dtype == np.uint8:
        images = images.astype("float32") / 127.5 - 1.0
    elif images.size and (images.min() < -1.05 or images.max() > 1.05):
        raise ValueError(
            f"float images must be in [-1, 1] (or pass uint8), got range "
            f"[{images.min():.3g}, {images.max():.3g}]"
        )
    images = images.astype("float32", copy=False)
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


class FeatureExtractor:
    """Pooled features of a pretrained network, for FID and KID.

    ``FeatureExtractor()`` builds the default network; ``get_feature_extractor()`` returns
    one built once per process. Any Keras ``model`` from ``(S, S, 3)`` images in [-1, 1] to
    ``(D,)`` features can stand in (then ``description`` names it).

    Args:
        network: "efficientnet_lite0" (bundled, default) or "inception_v3" (weights on disk).
        feature_size: side the images are resized to (default 128, Inception 299).
    """

    def __init__(self, network=DEFAULT_NETWORK, feature_size=None, *, model=None, description=None):
        if model is None and network not in _BUILDERS:
            raise ValueError(f"Unknown feature network {network!r}; one of {list(_BUILDERS)}")
        self.feature_size = feature_size or DEFAULT_FEATURE_SIZES[network]
        self.model = model or _BUILDERS[network](self.feature_size)
        self.description = description or DESCRIPTIONS[network]
        self._cache = {}

    def __call__(self, images, batch_size=64):
        """Features ``(N, D)`` float64 of uint8 [0, 255] or float [-1, 1] images."""
        import keras

        if len(images) == 0:
            raise ValueError("no images to compute features of")
        size = (self.feature_size, self.feature_size)
        features = []
        for start in range(0, len(images), batch_size):
            batch = _to_model_range(images[start : start + batch_size])
            count = len(batch)
            # Pad the last batch to full size so the predict function is traced once.
            batch = np.concatenate([batch, np.repeat(batch[-1:], batch_size - count, axis=0)])
            if batch.shape[1:3] != size:
                batch = keras.ops.image.resize(batch, size, antialias=True)
            features.append(np.asarray(self.model.predict_on_batch(batch))[:count])
        return np.concatenate(features).astype("float64")

    def cached(self, images, batch_size=64):
        """Like calling the extractor, but remembered by the array's fingerprint (real sets)."""
        key = fingerprint(images)
        if key not in self._cache:
            while len(self._cache) >= MAX_CACHED_SETS:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = self(images, batch_size)
        return self._cache[key]


@functools.cache
def _shared_extractor(network, feature_size):
    return FeatureExtractor(network, feature_size)


def get_feature_extractor(network=DEFAULT_NETWORK, feature_size=None):
    """The process-wide ``FeatureExtractor`` of ``network`` (built on first use)."""
    if network not in _BUILDERS:
        raise ValueError(f"Unknown feature network {network!r}; one of {list(_BUILDERS)}")
    return _shared_extractor(network, feature_size or DEFAULT_FEATURE_SIZES[network])


def _check_features(features_a, features_b, minimum=2):
    a = np.asarray(features_a, "float64")
    b = np.asarray(features_b, "float64")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected features (N, D) of one D, got {a.shape} and {b.shape}")
    if min(len(a), len(b)) < minimum:
        raise ValueError(f"need at least {minimum} samples per set, got {len(a)} and {len(b)}")
    return a, b


def _covariance_factor(features, eps):
    """``F`` with ``F @ F.T`` the sample covariance: the scaled centred data when there are
    no more samples than dimensions, else a Cholesky factor (``eps`` * I added if singular)."""
    centred = features - features.mean(axis=0)
    count, dims = features.shape
    if count <= dims:
        return centred.T / np.sqrt(count - 1)
    sigma = centred.T @ centred / (count - 1)
    try:
        return np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        scale = max(np.trace(sigma) / dims, np.finfo("float64").tiny)
        return np.linalg.cholesky(sigma + eps * scale * np.eye(dims))


def frechet_distance(features_a, features_b, eps=1e-6):
    """Fréchet distance between Gaussians fitted to two feature sets (FID on features).

    ``||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^1/2)``. The last trace is the
    sum of singular values of ``F_a.T @ F_b`` for factors ``S = F F.T``: exact, always real,
    and well defined for singular covariances (fewer samples than dimensions), where
    ``scipy.linalg.sqrtm`` of ``S_a S_b`` returns complex parts and takes ~30 s at 1280-d
    on a small CPU.
    """
    a, b = _check_features(features_a, features_b)
    factor_a, factor_b = _covariance_factor(a, eps), _covariance_factor(b, eps)
    trace_sqrt = np.linalg.svd(factor_a.T @ factor_b, compute_uv=False).sum()
    diff = a.mean(axis=0) - b.mean(axis=0)
    value = diff @ diff + np.sum(factor_a**2) + np.sum(factor_b**2) - 2 * trace_sqrt
    return float(max(value, 0.0))  # rounding can leave a tiny negative for identical sets


def _polynomial_mmd(a, b):
    """Unbiased MMD^2 with the kernel ``(x.y / d + 1)^3`` (Bińkowski et al., 2018)."""
    dims, count = a.shape[1], len(a)
    k_aa = (a @ a.T / dims + 1) ** 3
    k_bb = (b @ b.T / dims + 1) ** 3
    k_ab = (a @ b.T / dims + 1) ** 3
    pairs = count * (count - 1)
    within = (k_aa.sum() - np.trace(k_aa) + k_bb.sum() - np.trace(k_bb)) / pairs
    return within - 2 * k_ab.mean()


def kernel_inception_distance(features_a, features_b, subsets=10, subset_size=1000, seed=0):
    """KID: mean and std of the unbiased polynomial-kernel MMD^2 over random subsets.

    Each of ``subsets`` draws ``min(subset_size, N_a, N_b)`` samples from each set without
    replacement (seeded). Returns ``(mean, std)``; values near 0 (even slightly negative)
    mean the sets are alike.
    """
    a, b = _check_features(features_a, features_b)
    if subsets < 1:
        raise ValueError(f"subsets must be at least 1, got {subsets}")
    size = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    values = [
        _polynomial_mmd(
            a[rng.choice(len(a), size, replace=False)], b[rng.choice(len(b), size, replace=False)]
        )
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


def compute_fid_kid(
    real_images,
    fake_images,
    extractor=None,
    batch_size=64,
    *,
    kid_subsets=10,
    kid_subset_size=1000,
    seed=0,
):
    """FID and KID of ``fake_images`` against ``real_images`` (uint8 or [-1, 1] floats).

    Real-set features are cached on ``extractor`` (default: the shared EfficientNet-Lite0
    one), so evaluating during training computes them once. KID subsets hold at most half
    of the smaller set, so that they differ and ``kid_std`` means something.

    Returns:
        ``{"fid", "kid", "kid_std", "num_real", "num_fake", "kid_subset_size",
        "feature_network", "feature_size"}``.
    """
    extractor = extractor or get_feature_extractor()
    real = extractor.cached(real_images, batch_size)
    fake = extractor(fake_images, batch_size)
    subset_size = min(kid_subset_size, max(2, min(len(real), len(fake)) // 2))
    kid, kid_std = kernel_inception_distance(real, fake, kid_subsets, subset_size, seed)
    return {
        "fid": frechet_distance(real, fake),
        "kid": kid,
        "kid_std": kid_std,
        "num_real": len(real),
        "num_fake": len(fake),
        "kid_subset_size": subset_size,
        "feature_network": extractor.description,
        "feature_size": extractor.feature_size,
    }
