"""Tests for the MTCNN face detector: safe weight reading, nets and cascade parity."""

import io
import json
import os
import pickle
import shutil

import numpy as np
import pytest

from apps.detection import mtcnn, mtcnn_weights

pytestmark = pytest.mark.real_weights
NET_INPUTS = {"pnet": (2, 37, 53, 3), "rnet": (5, 24, 24, 3), "onet": (5, 48, 48, 3)}


def _package_nets():
    """The mtcnn package's own nets with its own weights (skips when it is absent)."""
    pytest.importorskip("mtcnn")
    from mtcnn.network.onet import ONet
    from mtcnn.network.pnet import PNet
    from mtcnn.network.rnet import RNet
    from mtcnn.utils.tensorflow import load_weights

    nets = {}
    for name, net_class in zip(mtcnn_weights.NET_NAMES, (PNet, RNet, ONet)):
        net = net_class()
        net.build()
        net.set_weights(load_weights(f"{name}.lz4"))
        nets[name] = net
    return nets


@pytest.fixture(scope="module")
def preset_dir(tmp_path_factory):
    pytest.importorskip("mtcnn")
    target = tmp_path_factory.mktemp("mtcnn") / "preset"
    mtcnn_weights.convert_mtcnn(target)
    return target


@pytest.fixture(scope="module")
def detector(preset_dir):
    return mtcnn.load_mtcnn(preset_dir)


@pytest.fixture(scope="module")
def package_detector():
    package = pytest.importorskip("mtcnn")
    return package.MTCNN()


def _astronaut_images():
    import skimage.data

    astronaut = skimage.data.astronaut()
    flipped = np.ascontiguousarray(astronaut[:, ::-1])
    return {
        "astronaut": astronaut,
        "flipped": flipped,
        "side_by_side": np.concatenate([astronaut, flipped], axis=1),
    }


def _iou(a, b):
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_arrays_equal_joblibs_own_reading():
    joblib = pytest.importorskip("joblib")
    for name in mtcnn_weights.NET_NAMES:
        ours = mtcnn_weights.load_mtcnn_arrays(name)
        theirs = joblib.load(mtcnn_weights.weights_dir() / f"{name}.lz4")
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)


def test_reads_any_joblib_array_list(tmp_path):
    joblib = pytest.importorskip("joblib")
    arrays = [
        np.arange(12, dtype=">i4").reshape(3, 4),
        np.asfortranarray(np.random.default_rng(0).normal(size=(5, 7))),
        np.zeros((0, 3), dtype="float16"),
        np.array(2.5, dtype="float32"),
    ]
    path = tmp_path / "arrays.lz4"
    joblib.dump(arrays, path, compress="lz4")
    loaded = mtcnn_weights.load_weights_file(path)
    for a, b in zip(arrays, loaded):
        np.testing.assert_array_equal(a, b)
        assert b.dtype == a.dtype.newbyteorder("=")


def test_reads_a_plain_numpy_pickle():
    arrays = [np.arange(6.0).reshape(2, 3), np.ones(4, dtype="uint8")]
    loaded = mtcnn_weights.read_array_pickle(pickle.dumps(arrays))
    for a, b in zip(arrays, loaded):
        np.testing.assert_array_equal(a, b)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_refuses_a_pickle_that_calls_os_system(tmp_path):
    import lz4.frame

    marker = tmp_path / "pwned"
    path = tmp_path / "evil.lz4"
    path.write_bytes(lz4.frame.compress(pickle.dumps([np.zeros(3), _Exploit(marker)])))
    with pytest.raises(ValueError, match="system"):
        mtcnn_weights.load_weights_file(path)
    assert not marker.exists()


def test_unknown_net_name():
    with pytest.raises(ValueError, match="qnet"):
        mtcnn_weights.load_mtcnn_arrays("qnet")


@pytest.mark.parametrize("name", mtcnn_weights.NET_NAMES)
def test_expected_shapes_are_the_keras_nets_weights(name):
    build = mtcnn.NET_BUILDERS[mtcnn_weights.NET_NAMES.index(name)]
    shapes = tuple(tuple(weight.shape) for weight in build().weights)
    assert shapes == mtcnn_weights.NET_WEIGHT_SHAPES[name]


@pytest.fixture
def crafted_weights_dir(tmp_path, monkeypatch):
    """An empty folder standing in for the package's ``assets/weights``."""
    monkeypatch.setattr(mtcnn_weights, "weights_dir", lambda: tmp_path)
    return tmp_path


def _pnet_arrays():
    return [np.zeros(shape, "float32") for shape in mtcnn_weights.NET_WEIGHT_SHAPES["pnet"]]


def _transposed_kernel(arrays):
    return [np.zeros((10, 3, 3, 3), "float32"), *arrays[1:]]


def _huge_first_array(arrays):
    return [np.zeros((3, 3, 3, 10_000), "float32"), *arrays[1:]]


TAMPERED_ARRAYS = {
    "transposed-kernel": _transposed_kernel,
    "huge-array": _huge_first_array,
    "missing-array": lambda arrays: arrays[:-1],
    "extra-array": lambda arrays: [*arrays, np.zeros(2, "float32")],
    "float64": lambda arrays: [array.astype("float64") for array in arrays],
    "int32-bias": lambda arrays: [arrays[0], arrays[1].astype("int32"), *arrays[2:]],
}


@pytest.mark.parametrize("tamper", TAMPERED_ARRAYS.values(), ids=TAMPERED_ARRAYS)
def test_arrays_not_shaped_like_the_net_are_refused(crafted_weights_dir, tamper):
    joblib = pytest.importorskip("joblib")
    joblib.dump(tamper(_pnet_arrays()), crafted_weights_dir / "pnet.lz4", compress="lz4")
    with pytest.raises(ValueError, match=r"pnet\.lz4.*(array|arrays)"):
        mtcnn_weights.load_mtcnn_arrays("pnet")


def test_arrays_shaped_like_the_net_load(crafted_weights_dir):
    joblib = pytest.importorskip("joblib")
    joblib.dump(_pnet_arrays(), crafted_weights_dir / "pnet.lz4", compress="lz4")
    shapes = [array.shape for array in mtcnn_weights.load_mtcnn_arrays("pnet")]
    assert shapes == list(mtcnn_weights.NET_WEIGHT_SHAPES["pnet"])


def _joblib_stream_cut_at_padding():
    """A joblib array stream cut just before the padding-length byte of its array's data."""
    joblib = pytest.importorskip("joblib")
    buffer = io.BytesIO()
    data = np.arange(16, dtype="float32")
    joblib.dump([data], buffer)
    stream = buffer.getvalue()
    start = stream.index(data.tobytes())
    padding = next(n for n in range(16) if stream[start - n - 1] == n)
    return stream[: start - padding - 1]


def _stream_cases():
    import lz4.frame

    return {
        "not-lz4": b"garbage" * 10,
        "truncated-pickle": lz4.frame.compress(pickle.dumps([np.zeros(3)])[:-3]),
        "bad-opcode-argument": lz4.frame.compress(b"\x80\x02garbage"),
        "trailing-data": lz4.frame.compress(pickle.dumps([np.zeros(3)])) + b"more",
        "cut-at-padding": lz4.frame.compress(_joblib_stream_cut_at_padding()),
    }


@pytest.mark.parametrize(
    "case",
    ["not-lz4", "truncated-pickle", "bad-opcode-argument", "trailing-data", "cut-at-padding"],
)
def test_damaged_weights_file_is_one_value_error(tmp_path, case):
    path = tmp_path / "damaged.lz4"
    path.write_bytes(_stream_cases()[case])
    with pytest.raises(ValueError, match=r"damaged\.lz4"):
        mtcnn_weights.load_weights_file(path)


def test_nets_match_the_package(detector):
    ours = {"pnet": detector.pnet, "rnet": detector.rnet, "onet": detector.onet}
    rng = np.random.default_rng(0)
    for name, package_net in _package_nets().items():
        inputs = rng.uniform(-1, 1, NET_INPUTS[name]).astype("float32")
        expected = [np.asarray(out) for out in package_net(inputs)]
        received = ours[name].predict_on_batch(inputs)
        assert len(received) == len(expected)
        for a, b in zip(received, expected):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_preset_directory(preset_dir, detector):
    config = json.loads((preset_dir / "config.json").read_text())
    assert config["input_offset"] == 127.5 and config["input_scale"] == 1 / 128
    for name in mtcnn_weights.NET_NAMES:
        assert (preset_dir / f"{name}.keras").is_file()
    parameters = [net.count_params() for net in (detector.pnet, detector.rnet, detector.onet)]
    assert parameters == [6_632, 100_178, 389_040]


@pytest.mark.parametrize("net_file", ["/etc/passwd", "../outside.keras"])
def test_a_preset_naming_a_net_outside_itself_is_refused(preset_dir, tmp_path, net_file):
    copy = tmp_path / "preset"
    shutil.copytree(preset_dir, copy)
    config = json.loads((copy / "config.json").read_text())
    config["nets"]["rnet"] = net_file
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="a file outside the model"):
        mtcnn.load_mtcnn(copy)


@pytest.mark.parametrize("name", ["astronaut", "flipped", "side_by_side"])
def test_cascade_matches_the_package(detector, package_detector, name):
    image = _astronaut_images()[name]
    ours = detector.detect(image)
    theirs = package_detector.detect_faces(image, threshold_onet=0.7)
    assert len(ours) == len(theirs) >= 1
    for face in theirs:
        x, y, width, height = face["box"]
        box = [x, y, x + width, y + height]
        best = max(ours, key=lambda ours_face: _iou(ours_face["box"], box))
        assert _iou(best["box"], box) >= 0.95
        assert best["score"] == pytest.approx(float(face["confidence"]), abs=1e-3)
        for point, (px, py) in face["keypoints"].items():
            assert np.hypot(best["keypoints"][point][0] - px, best["keypoints"][point][1] - py) < 2


def test_cascade_matches_the_package_to_a_fraction_of_a_pixel(detector, package_detector):
    image = _astronaut_images()["side_by_side"]
    rows = package_detector.detect_faces(
        image, threshold_onet=0.7, output_type="numpy", box_format="xyxy"
    )
    ours = detector.detect(image)
    assert len(ours) == len(rows) == 2
    for face, row in zip(ours, rows):  # both best score first
        np.testing.assert_allclose(face["box"], row[1:5], atol=0.05)
        assert face["score"] == pytest.approx(row[5], abs=1e-4)
        points = np.array([face["keypoints"][name] for name in mtcnn.KEYPOINT_NAMES])
        np.testing.assert_allclose(points.T.ravel(), row[6:16], atol=0.05)


def test_one_face_in_the_astronaut(detector):
    (face,) = detector.detect(_astronaut_images()["astronaut"])
    x1, y1, x2, y2 = face["box"]
    assert 170 < x1 < x2 < 280 and 50 < y1 < y2 < 185 and face["score"] > 0.99
    left_eye, right_eye = face["keypoints"]["left_eye"], face["keypoints"]["right_eye"]
    assert left_eye[0] < right_eye[0] and x1 < left_eye[0] < x2


@pytest.mark.parametrize("shape", [(300, 400), (8, 8)])
def test_blank_or_tiny_image_has_no_faces(detector, shape):
    assert detector.detect(np.full((*shape, 3), 128, dtype=np.uint8)) == []


def test_bad_image_is_refused(detector):
    with pytest.raises(ValueError, match="uint8"):
        detector.detect(np.zeros((32, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match="float32"):
        detector.detect(np.zeros((32, 32, 3), dtype=np.float32))


def test_nms_matches_the_package_rule():
    boxes = np.array([[0, 0, 10, 10, 0.9], [1, 0, 11, 10, 0.8], [2, 0, 12, 10, 0.7]], float)
    # Box 2 overlaps box 1 (dropped) above the threshold: the package drops it too.
    assert len(mtcnn.nms(boxes, 0.7)) == 1
    assert len(mtcnn.nms(boxes, 0.95)) == 3


def test_crop_and_resize_matches_tensorflow():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(1)
    image = rng.uniform(-1, 1, (40, 60, 3)).astype("float32")
    boxes = np.array([[5.0, 3.0, 30.0, 28.0], [-10.0, -4.0, 70.0, 50.0], [50.2, 30.1, 58.7, 39.9]])
    scale = np.array([40, 60, 40, 60])
    expected = tf.image.crop_and_resize(
        image[None], boxes[:, [1, 0, 3, 2]] / scale, np.zeros(3, "int32"), (24, 24)
    )
    np.testing.assert_allclose(mtcnn.crop_and_resize(image, boxes, 24), expected, atol=1e-4)


def test_converter_works_through_the_preset_cache():
    pytest.importorskip("mtcnn")
    from shared import cache

    preset = cache.ensure_converted("detection-mtcnn-test", mtcnn_weights.convert_mtcnn)
    assert sorted(path.name for path in preset.iterdir()) == [
        "config.json",
        "onet.keras",
        "pnet.keras",
        "rnet.keras",
    ]
    assert mtcnn.load_mtcnn(preset).onet.count_params() == 389_040
