"""Hostile detection datasets: absurd sizes in VOC and COCO files, and annotations that reach
for files outside the dataset folder. Each is refused with a message naming the file, never a
traceback, and never reads the outside file."""

import json

import numpy as np
import pytest
from PIL import Image

from apps.detection import checks, finetune, formats

BAD_SIZES = ["inf", "-inf", "nan", "-5", "1e30", "ten"]


def _png(path, height=40, width=60):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((height, width, 3), 90, np.uint8)).save(path)
    return path


def _voc(folder, stem="a", width="60", height="40", filename=None):
    """One VOC annotation (one object) and its image, with size fields given as text."""
    _png(folder / "JPEGImages" / f"{stem}.png")
    (folder / "Annotations").mkdir(parents=True, exist_ok=True)
    xml = (
        f"<annotation><filename>{filename or stem + '.png'}</filename><size><width>{width}"
        f"</width><height>{height}</height><depth>3</depth></size><object><name>cat</name>"
        "<bndbox><xmin>5</xmin><ymin>5</ymin><xmax>20</xmax><ymax>20</ymax></bndbox></object>"
        "</annotation>"
    )
    (folder / "Annotations" / f"{stem}.xml").write_text(xml)
    return folder


# ---- absurd sizes ------------------------------------------------------------


@pytest.mark.parametrize("field", ["width", "height"])
@pytest.mark.parametrize("value", BAD_SIZES)
def test_voc_size_that_is_not_a_pixel_count_names_file_and_field(tmp_path, field, value):
    folder = _voc(tmp_path / "voc", **{field: value})
    data = formats.read_voc(folder)
    assert data.samples == []
    [problem] = data.problems
    assert problem.startswith("a.xml: ") and f"<{field}>" in problem and repr(value) in problem
    with pytest.raises(ValueError, match=r"a\.xml: .*<" + field + ">"):
        checks.load_checked(folder)


def test_voc_size_zero_still_means_unknown(tmp_path):
    data = formats.read_voc(_voc(tmp_path / "voc", width="0", height="0"))
    assert data.problems == [] and data.samples[0].image_size is None


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", "-1", "1e30", '"wide"'])
def test_coco_size_that_is_not_a_pixel_count_names_file_and_field(tmp_path, value):
    _png(tmp_path / "a.png")
    image = '{"id": 1, "file_name": "a.png", "height": 40, "width": ' + value + "}"
    text = f'{{"images": [{image}], "categories": [{{"id": 1, "name": "c"}}], "annotations": []}}'
    (tmp_path / "train.json").write_text(text)  # Python's json reads Infinity and NaN
    data = formats.read_coco(tmp_path / "train.json")
    assert data.samples == []
    [problem] = data.problems
    assert problem.startswith("train.json image 1: 'width' is ")
    with pytest.raises(ValueError, match=r"train\.json image 1: 'width'"):
        checks.load_checked(tmp_path / "train.json")


def test_finetune_cli_refuses_an_infinite_voc_width_in_one_line(tmp_path, capsys):
    folder = _voc(tmp_path / "voc", width="inf")
    runs_dir = tmp_path / "runs"
    flags = ["--epochs", "1", "--image-size", "64", "--runs-dir"]
    assert finetune.main(["--data", str(folder), *flags, str(runs_dir)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1, error
    assert "a.xml" in error and "<width>" in error and "Traceback" not in error
    assert not runs_dir.exists() or not any(runs_dir.rglob("*"))


# ---- files outside the dataset folder ----------------------------------------


@pytest.fixture
def secret(tmp_path):
    """An image outside every dataset folder, standing for any file on the server."""
    return _png(tmp_path / "elsewhere" / "secret.png")


def _coco(folder, file_names):
    images = [
        {"id": number, "file_name": name, "height": 40, "width": 60}
        for number, name in enumerate(file_names, 1)
    ]
    annotations = [
        {"id": number, "image_id": number, "category_id": 1, "bbox": [5, 5, 10, 10]}
        for number in range(1, len(file_names) + 1)
    ]
    coco = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "x"}]}
    (folder / "train.json").write_text(json.dumps(coco))
    return folder / "train.json"


def _reaches(data, secret):
    return any(
        not isinstance(sample.image, np.ndarray) and sample.image.resolve() == secret.resolve()
        for sample in data.samples
    )


def _one_refused_outside(data, prefix):
    """The one sample that stays and the one problem, which starts with ``prefix``."""
    assert len(data.samples) == 1
    [problem] = data.problems
    assert problem.startswith(prefix) and "outside the dataset folder" in problem
    return problem


@pytest.mark.parametrize("how", ["absolute", "dot-dot", "symlink"])
def test_coco_file_name_outside_the_dataset_is_refused(tmp_path, secret, how):
    folder = tmp_path / "coco"
    _png(folder / "inside.png")
    if how == "symlink":
        (folder / "link.png").symlink_to(secret)
    name = {"absolute": str(secret), "dot-dot": "../elsewhere/secret.png", "symlink": "link.png"}
    json_path = _coco(folder, ["inside.png", name[how]])
    data = formats.read_coco(json_path)
    assert not _reaches(data, secret)
    _one_refused_outside(data, "train.json image 2: ")
    with pytest.raises(ValueError, match="outside the dataset folder"):
        checks.load_checked(json_path)  # 1 of 2 images broken is over the 10% allowed


def test_coco_file_name_may_wander_inside_the_dataset(tmp_path):
    folder = tmp_path / "coco"
    _png(folder / "images" / "a.png")
    data = formats.read_coco(
        _coco(folder, ["images/../images/a.png", str(folder / "images/a.png")])
    )
    assert data.problems == [] and len(data.samples) == 2
    assert checks.validate(data) == []


def test_voc_filename_cannot_leave_the_folder(tmp_path, secret):
    folder = _voc(tmp_path / "voc", filename=str(secret))
    (folder / "JPEGImages" / "a.png").unlink()
    data = formats.read_voc(folder)
    assert not _reaches(data, secret)
    [problem] = checks.validate(data)
    assert problem.startswith("secret.png: missing or unreadable image")
    assert str(folder / "JPEGImages" / "secret.png") in problem  # only the name was used


def test_voc_image_symlink_outside_is_refused(tmp_path, secret):
    folder = _voc(tmp_path / "voc")
    _voc(folder, stem="b")
    (folder / "JPEGImages" / "b.png").unlink()
    (folder / "JPEGImages" / "b.png").symlink_to(secret)
    data = formats.read_voc(folder)
    assert not _reaches(data, secret)
    _one_refused_outside(data, "b.xml: ")


def test_voc_annotation_symlink_outside_is_refused(tmp_path):
    outside = _voc(tmp_path / "elsewhere")
    folder = _voc(tmp_path / "voc")
    (folder / "Annotations" / "b.xml").symlink_to(outside / "Annotations" / "a.xml")
    _one_refused_outside(formats.read_voc(folder), "b.xml: ")


def _yolo(folder):
    _png(folder / "images" / "a.png")
    (folder / "labels").mkdir(parents=True)
    (folder / "labels" / "a.txt").write_text("0 .5 .5 .2 .2\n")
    (folder / "classes.txt").write_text("cat\n")
    return folder


def test_yolo_image_symlink_outside_is_refused(tmp_path, secret):
    folder = _yolo(tmp_path / "yolo")
    (folder / "images" / "b.png").symlink_to(secret)
    data = formats.read_yolo(folder)
    assert not _reaches(data, secret)
    _one_refused_outside(data, "b.png: ")


def test_yolo_label_symlink_outside_is_refused_without_showing_its_text(tmp_path):
    outside = tmp_path / "elsewhere" / "passwords.txt"
    outside.parent.mkdir()
    outside.write_text("root:hunter2:0:0\n")
    folder = _yolo(tmp_path / "yolo")
    _png(folder / "images" / "b.png")
    (folder / "labels" / "b.txt").symlink_to(outside)
    problem = _one_refused_outside(formats.read_yolo(folder), "b.txt: ")
    assert "hunter2" not in problem


@pytest.mark.parametrize("names_file", ["classes.txt", "data.yaml"])
def test_yolo_class_names_symlink_outside_is_refused(tmp_path, names_file):
    outside = tmp_path / "elsewhere" / names_file
    outside.parent.mkdir()
    outside.write_text("names: [hunter2]\n" if names_file == "data.yaml" else "hunter2\n")
    folder = _yolo(tmp_path / "yolo")
    (folder / "classes.txt").unlink()
    (folder / names_file).symlink_to(outside)
    with pytest.raises(ValueError, match=f"{names_file}: .*outside the dataset folder") as caught:
        formats.read_yolo(folder)
    assert "hunter2" not in str(caught.value)


def test_a_dataset_folder_reached_through_a_symlink_is_fine(tmp_path):
    folder = _yolo(tmp_path / "yolo")
    (tmp_path / "link").symlink_to(folder)
    data = formats.load_detection_source(tmp_path / "link")
    assert data.problems == [] and len(data.samples) == 1
