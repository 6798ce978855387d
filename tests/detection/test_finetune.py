"""The detector fine-tune end to end: it overfits a few synthetic scenes, saves a complete run
that predict and evaluate reload, reads VOC / COCO / YOLO alike and refuses broken boxes."""

import json
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

from apps.detection import centernet_fit as train_lib
from apps.detection import evaluate, finetune, scenes
from apps.detection.checks import load_checked
from apps.detection.predictor import Predictor
from shared.runs import list_runs

pytestmark = pytest.mark.real_weights  # the bundled EfficientNet-Lite0 backbone
NUM_SCENES, SIZE, EPOCHS = 8, 128, 25  # mAP50 > 0.9 from epoch 8, 1.0 from 14
SCORE_THRESHOLD = 0.3


@pytest.fixture(scope="module")
def scene_data():
    return scenes.make_scenes(NUM_SCENES, image_size=SIZE, seed=0)


@pytest.fixture(scope="module")
def voc_folder(scene_data, tmp_path_factory):
    return scenes.write_voc(scene_data, tmp_path_factory.mktemp("scenes") / "voc")


@pytest.fixture(scope="module")
def trained(voc_folder, tmp_path_factory):
    """One run trained to overfit the scenes, shared by the tests: ``(run, runs_dir)``."""
    runs_dir = tmp_path_factory.mktemp("runs")
    flags = ["--epochs", str(EPOCHS), "--batch-size", "8", "--image-size", str(SIZE)]
    flags += ["--validation-split", "0", "--no-augment", "--map-every", "20"]
    flags += ["--no-tensorboard", "--patience", str(EPOCHS), "--runs-dir", str(runs_dir)]
    assert finetune.main(["--data", str(voc_folder), *flags]) == 0
    [run] = list_runs("detection", runs_dir=runs_dir)
    return run, runs_dir


def iou(box, other):
    overlap = np.maximum(np.minimum(box[2:], other[2:]) - np.maximum(box[:2], other[:2]), 0)
    inter = overlap.prod()
    area = np.prod(box[2:] - box[:2]) + np.prod(other[2:] - other[:2])
    return inter / (area - inter)


def test_the_detector_overfits_the_scenes(trained):
    run, _ = trained
    metrics = run.metrics
    assert metrics["map50"] > 0.5, metrics
    assert metrics["split"] == "train" and metrics["num_images"] == NUM_SCENES
    assert metrics["map_epochs"] == [1, 20, EPOCHS]
    assert run.status["map50"] == metrics["map50"]


def test_the_run_is_complete_with_its_files(trained):
    run, runs_dir = trained
    assert [complete.ref for complete in list_runs("detection", runs_dir=runs_dir)] == [run.ref]
    assert run.state == "complete"
    for name in ("model/model.keras", "model/detector.json", "labels.json", "history.png"):
        assert run.artifact(name).is_file(), name
    assert run.labels == ["circle", "square", "triangle"]
    meta = json.loads(run.artifact("model/detector.json").read_text())
    assert meta["image_size"] == SIZE and meta["class_names"] == run.labels


def test_predictor_reloads_the_run_and_matches_the_evaluate_path(trained, scene_data):
    run, runs_dir = trained
    predictor = Predictor.load(run.ref, runs_dir=runs_dir)
    assert predictor.class_names == ["circle", "square", "triangle"]
    sample = scene_data.samples[0]
    found = predictor.predict(sample.image, score_threshold=SCORE_THRESHOLD).detections
    detector = predictor.detector
    [(boxes, scores, labels)] = train_lib.predict_samples(
        detector.model, [sample], 3, detector.image_size, detector.scale, detector.offset
    )
    keep = scores >= SCORE_THRESHOLD
    expected = sorted(zip(boxes[keep].tolist(), labels[keep].tolist()))
    got = sorted((d.box, predictor.class_names.index(d.label)) for d in found)
    assert [label for _, label in got] == [label for _, label in expected]
    np.testing.assert_allclose([box for box, _ in got], [box for box, _ in expected], atol=0.1)
    for truth, label in zip(sample.boxes, sample.labels):  # and each object is found
        assert any(
            d.label == run.labels[label] and iou(np.array(d.box), truth) > 0.5 for d in found
        ), (truth, found)


def test_evaluate_cli_scores_the_run(trained, voc_folder, capsys):
    run, runs_dir = trained
    argv = ["--model", run.ref, "--data", str(voc_folder), "--json", "--runs-dir", str(runs_dir)]
    assert evaluate.main(argv) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["map50"] > 0.5 and report["model"] == run.ref
    assert report["num_images"] == NUM_SCENES and report["skipped_objects"] == 0
    assert abs(report["map50"] - run.metrics["map50"]) < 0.1


def test_coco_and_yolo_layouts_load_like_voc(scene_data, voc_folder, tmp_path):
    coco = scenes.write_coco(scene_data, tmp_path / "coco" / "annotations.json", tmp_path / "coco")
    yolo = scenes.write_yolo(scene_data, tmp_path / "yolo")
    loaded = [load_checked(str(source)) for source in (voc_folder, coco, yolo)]
    for data in loaded:
        assert data.class_names == scene_data.class_names
        assert len(data.samples) == NUM_SCENES
        for sample, truth in zip(data.samples, scene_data.samples):
            np.testing.assert_array_equal(sample.labels, truth.labels)
            np.testing.assert_allclose(sample.boxes, truth.boxes, atol=1e-3)


def test_a_feature_extract_epoch_on_coco_completes(scene_data, tmp_path):
    coco = scenes.write_coco(scene_data, tmp_path / "coco" / "annotations.json", tmp_path / "coco")
    runs_dir = tmp_path / "runs"
    argv = ["--data", str(coco), "--mode", "feature_extract", "--epochs", "1", "--image-size"]
    argv += ["64", "--no-tensorboard", "--runs-dir", str(runs_dir)]
    assert finetune.main(argv) == 0
    [run] = list_runs("detection", runs_dir=runs_dir)
    assert run.state == "complete" and run.config["mode"] == "feature_extract"
    assert run.artifact("model/model.keras").is_file()


def _push_boxes_outside(voc_folder, count):
    """Move the first object of ``count`` annotation files far outside its image."""
    for xml_path in sorted((voc_folder / "Annotations").glob("*.xml"))[:count]:
        tree = ElementTree.parse(xml_path)
        box = tree.getroot().find("object/bndbox")
        for key in ("xmin", "xmax"):
            box.find(key).text = str(int(box.find(key).text) + 1000)
        tree.write(xml_path)


def test_mostly_broken_annotations_are_refused(scene_data, tmp_path, capsys):
    folder = scenes.write_voc(scene_data, tmp_path / "broken")
    _push_boxes_outside(folder, 6)
    runs_dir = tmp_path / "runs"
    argv = ["--data", str(folder), "--epochs", "1", "--runs-dir", str(runs_dir)]
    assert finetune.main(argv) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error:")
    assert "6 of 8 images" in error[0] and error[0].count("is outside the 128x128 image") == 6
    assert list_runs("detection", runs_dir=runs_dir) == []


def test_help_lists_the_modes(capsys):
    with pytest.raises(SystemExit) as exit_info:
        finetune.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--mode" in text and "feature_extract" in text and "--resume" in text
