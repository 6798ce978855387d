"""Teach: a few examples per class → a head on cached features → a reloadable, exportable run."""

import numpy as np
import pytest
from skimage import data

from apps.image_classify.export import export_classifier
from apps.image_classify.predictor import Predictor
from apps.image_classify.teach import Teacher, check_class_names
from shared.runs import list_runs

pytestmark = pytest.mark.real_weights

PHOTOS = {"cat": data.chelsea, "coffee": data.coffee, "rocket": data.rocket}


def views(image, count, seed):
    """``count`` random crops of ``image`` (different examples of one class)."""
    rng = np.random.default_rng(seed)
    height, width = image.shape[:2]
    crops = []
    for _ in range(count):
        top, left = rng.integers(0, height // 4), rng.integers(0, width // 4)
        crops.append(image[top : top + 3 * height // 4, left : left + 3 * width // 4])
    return crops


def test_class_names_are_checked():
    assert check_class_names([" a ", "b"]) == ["a", "b"]
    for names in (["one"], ["a", "A"], ["a", "../b"], ["a", ""]):
        with pytest.raises(ValueError):
            check_class_names(names)


def test_teach_trains_predicts_and_keeps_a_run(tmp_path):
    teacher = Teacher(runs_dir=tmp_path)
    with pytest.raises(ValueError, match="train the classifier first"):
        teacher.predict(data.chelsea())
    for seed, (name, photo) in enumerate(PHOTOS.items()):
        for view in views(photo(), 5, seed):
            teacher.add(name, view)
    assert teacher.counts() == {"cat": 5, "coffee": 5, "rocket": 5}
    with pytest.raises(ValueError, match="add at least one example of dog"):
        teacher.train([*PHOTOS, "dog"])
    metrics = teacher.train(list(PHOTOS))
    assert metrics["held_out"] == 3 and metrics["accuracy"] == 1.0, metrics
    for name, photo in PHOTOS.items():
        assert teacher.predict(photo())[0] == name

    run = teacher.keep(metrics, name="three photos")
    assert [r.run_id for r in list_runs("image_classify", runs_dir=tmp_path)] == [run.run_id]
    predictor = Predictor.load(run.ref, runs_dir=tmp_path)
    assert predictor.labels == sorted(PHOTOS)
    assert predictor.predict(data.coffee()).predictions[0].label == "coffee"
    report = export_classifier(run, formats=("tflite",))
    assert report, report
