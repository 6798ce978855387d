"""The detection fine-tunes on JAX without TensorFlow: CenterNet on a tiny backbone (one
process, then two worker processes over loopback, data-parallel), and the bundled
YOLOv3-tiny from its COCO weights; each run reloads and predicts."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from apps.detection import scenes
from shared.runs import list_runs
from tests.detection.tiny_backbone import save_tiny_backbone_preset
from tests.jax.workers import figures, launch, steps_per_epoch

pytestmark = pytest.mark.jax
SIZE = 64
# Overfits 4 scenes from a random tiny backbone (mAP50 ~0.9) whether one process takes
# batches of 2 or two processes take global batches of 4 (half the steps).
FLAGS = ["--mode", "scratch", "--epochs", "30", "--learning-rate", "0.003", "--batch-size", "2"]
FLAGS += ["--image-size", str(SIZE), "--validation-split", "0", "--no-augment", "--seed", "3"]
FLAGS += ["--map-every", "10", "--patience", "30", "--no-tensorboard"]
MAP50 = re.compile(r"val_map50: ([0-9.e+-]+)")


@pytest.fixture(scope="module")
def voc_folder(tmp_path_factory):
    data = scenes.make_scenes(4, image_size=SIZE, seed=0)
    return scenes.write_voc(data, tmp_path_factory.mktemp("scenes") / "voc")


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    return save_tiny_backbone_preset(tmp_path_factory.mktemp("backbone"), image_size=SIZE)


def _centernet(voc_folder, backbone, runs_dir, processes=1):
    """The finetune command in ``processes`` processes: (outputs, seconds, the run)."""
    argv = [sys.executable, "-m", "apps.detection.finetune", "--data", str(voc_folder)]
    argv += ["--model", str(backbone), "--runs-dir", str(runs_dir), *FLAGS]
    outputs, seconds = launch(argv, processes=processes)
    (run,) = list_runs("detection", runs_dir=runs_dir)  # only process 0 writes a run
    return outputs, seconds, run


@pytest.fixture(scope="module")
def alone(voc_folder, backbone, tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("alone")
    return (*_centernet(voc_folder, backbone, runs_dir), runs_dir)


def test_the_detection_commands_import_without_tensorflow():
    code = (
        "import sys; import apps.detection.finetune, apps.detection.predict; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'tensorflow'))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.returncode == 0, output.stderr[-2000:]
    assert output.stdout.strip() == "[]"


def _images(dataset, epoch):
    """The images of every batch ``dataset`` gives at ``epoch``, as training sets it."""
    from shared.resumable import set_data_epoch

    set_data_epoch(epoch)
    return np.concatenate([images for images, _ in dataset])


def test_training_batches_are_set_by_seed_and_epoch_and_held_out_ones_kept_as_they_are():
    from apps.detection import centernet_fit
    from apps.detection.config import FinetuneConfig

    samples = scenes.make_scenes(4, image_size=SIZE, seed=2).samples
    config = FinetuneConfig.tiny(data="scenes", batch_size=2)

    def make(train):
        return centernet_fit.make_dataset(samples, 3, config, 1 / 127.5, -1.0, train=train)

    epochs = [_images(make(True), epoch) for epoch in (1, 2)]
    np.testing.assert_array_equal(_images(make(True), 2), epochs[1])  # a resumed run
    assert not np.array_equal(epochs[0], epochs[1])  # a new order and new augmentations
    expected = [centernet_fit.sample_arrays(s, SIZE, 1 / 127.5, -1.0)[0] for s in samples]
    for epoch in (0, 3):
        np.testing.assert_array_equal(_images(make(False), epoch), expected)


def test_a_pipeline_stops_loading_once_its_block_ends():
    from apps.detection import centernet_fit
    from apps.detection.config import FinetuneConfig

    samples = scenes.make_scenes(4, image_size=SIZE, seed=1).samples
    config = FinetuneConfig.tiny(data="scenes", batch_size=2)
    with pytest.raises(KeyboardInterrupt):
        with centernet_fit.input_pipelines() as stop:
            dataset = centernet_fit.make_dataset(
                samples, 3, config, 1 / 127.5, -1.0, train=True, stop=stop
            )
            images, targets = dataset[0]
            raise KeyboardInterrupt
    assert images.shape == (2, SIZE, SIZE, 3) and targets.shape == (2, 8, 8, 8)
    with pytest.raises(RuntimeError, match="the input pipeline is closed"):
        dataset[1]


def test_a_centernet_fine_tune_reloads_and_predicts(alone, voc_folder, capsys):
    from apps.detection import predict
    from apps.detection.predictor import Predictor

    outputs, _, run, runs_dir = alone
    assert run.state == "complete" and run.labels == ["circle", "square", "triangle"]
    assert run.metrics["map50"] >= 0.7, run.metrics  # it learned the scenes
    assert run.metrics["map_epochs"] == [1, 10, 20, 30]
    assert steps_per_epoch(outputs[0]) == 2
    predictor = Predictor.load(run.ref, runs_dir=runs_dir)
    image = next(iter(sorted((voc_folder / "JPEGImages").iterdir())))
    capsys.readouterr()
    argv = [str(image), "--model", run.ref, "--runs-dir", str(runs_dir), "--json"]
    assert predict.main(argv) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    found = json.loads(line)["detections"]
    assert found and {item["label"] for item in found} <= set(predictor.class_names)


def test_two_worker_processes_split_the_steps_and_match_one_process(
    alone, voc_folder, backbone, tmp_path
):
    one_outputs, one_seconds, one_run, _ = alone
    outputs, seconds, run = _centernet(voc_folder, backbone, tmp_path, processes=2)
    one = figures("1 process", one_outputs, one_seconds, one_run, "map50")
    two = figures("2 processes", outputs, seconds, run, "map50")
    (alone_steps,) = one["steps_per_epoch_per_process"]
    assert two["steps_per_epoch_per_process"] == [alone_steps // 2] * 2
    # every process scores every image: they log the same mAP each time it is measured
    assert MAP50.findall(outputs[0]) == MAP50.findall(outputs[1]) != []
    assert "process 0 writes the run" in outputs[1]
    assert run.status["device"].endswith("2 process(es), 2 device(s)")
    assert abs(run.metrics["map50"] - one_run.metrics["map50"]) <= 0.1, (one, two)


@pytest.mark.real_weights
def test_a_yolo_fine_tune_from_coco_reloads_with_the_new_classes(tmp_path):
    from apps.detection import finetune, yolo_fit
    from apps.detection.predictor import Predictor

    classes = ("circle", "triangle")
    data = scenes.make_scenes(4, image_size=96, seed=0, classes=classes)
    folder = scenes.write_voc(data, tmp_path / "voc")
    argv = ["--data", str(folder), "--model", "bundled:yolov3_tiny_coco", "--epochs", "1"]
    argv += ["--mode", "feature_extract", "--image-size", "96", "--batch-size", "4"]
    argv += ["--validation-split", "0", "--no-tensorboard", "--runs-dir", str(tmp_path)]
    assert finetune.main(argv) == 0
    (run,) = list_runs("detection", runs_dir=tmp_path)
    assert run.state == "complete" and run.labels == list(classes)
    assert np.isfinite(run.history["detector"]["loss"]).all()
    predictor = Predictor.load(run.ref, runs_dir=tmp_path)
    found = predictor.predict(data.samples[0].image, score_threshold=0.0).detections
    assert found and {item.label for item in found} <= set(classes)
    # the mAP's batched path (the heads as one output) finds what the detector finds
    [(boxes, scores, _)] = yolo_fit.predict_samples(predictor.detector, data.samples[:1], 0.0)
    detected = predictor.detector.detect(data.samples[0].image, score_threshold=0.0)
    assert len(boxes) == len(detected) > 0
    np.testing.assert_allclose(boxes, [item.box for item in detected], atol=0.11)
    np.testing.assert_allclose(scores, [item.score for item in detected], rtol=1e-5)
