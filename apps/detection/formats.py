"""Detection dataset files read into ``DetectionData``: Pascal VOC, COCO and YOLO folders,
TFDS VOC, and ``load_detection_source``, which tells them apart.

Readers collect what they cannot parse in ``problems`` instead of raising, and refuse any
file outside the dataset's folder.
"""

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

from apps.detection.data import DetectionData, DetectionSample, check_inside, pixel_size
from shared.images import IMAGE_EXTENSIONS
from shared.tfds import tfds_load, tfds_source

SOURCES_TEXT = (
    "Accepted: a COCO .json file, a VOC folder (Annotations/ + JPEGImages/, or .xml files "
    "beside the images), a YOLO folder (images/ + labels/ + classes.txt or data.yaml), "
    "or tfds:NAME[:SPLIT] (e.g. tfds:voc/2007)"
)


def _parse_voc_xml(xml_path, skip_difficult):
    """``(file name, (height, width) or None, [(class name, box)])`` of one VOC file."""
    root = ElementTree.parse(xml_path).getroot()
    height, width = (
        pixel_size(root.findtext(f"size/{key}", "0").strip(), f"<{key}>")
        for key in ("height", "width")
    )
    objects = []
    for element in root.iter("object"):
        if skip_difficult and element.findtext("difficult", "0").strip() == "1":
            continue
        box = element.find("bndbox")
        xmin, ymin, xmax, ymax = (
            float(box.findtext(key)) for key in ("xmin", "ymin", "xmax", "ymax")
        )
        # VOC pixel indices are 1-based and inclusive (as TFDS and Detectron2 read them).
        objects.append((element.findtext("name").strip(), [xmin - 1, ymin - 1, xmax, ymax]))
    size = (height, width) if height > 0 and width > 0 else None
    return root.findtext("filename"), size, objects


def _voc_image_path(xml_path, filename, image_dir):
    candidates = [image_dir / Path(filename).name] if filename else []
    candidates += [image_dir / (xml_path.stem + extension) for extension in IMAGE_EXTENSIONS]
    return next((path for path in candidates if path.exists()), candidates[0])


def _read_voc_file(xml_path, image_dir, root, skip_difficult):
    """``(image path, size, objects)`` of one VOC file; a ValueError says why it is unusable."""
    check_inside(xml_path, root, "the annotation file")
    try:
        filename, size, objects = _parse_voc_xml(xml_path, skip_difficult)
    except (ElementTree.ParseError, AttributeError, TypeError, ValueError) as error:
        raise ValueError(f"not a readable VOC annotation ({error})") from error
    image_path = _voc_image_path(xml_path, filename, image_dir)
    check_inside(image_path, root, f"its image {image_path.name}")
    return image_path, size, objects


def read_voc(folder, skip_difficult=False):
    """Read a Pascal VOC folder: ``Annotations/*.xml`` + ``JPEGImages/``, or xml beside images.

    Class names are the object names found, sorted. Objects marked ``difficult`` are kept as
    ordinary objects (as torchvision does) unless ``skip_difficult`` (the VOC protocol, which
    ignores them when scoring)."""
    folder = Path(folder)
    if (folder / "Annotations").is_dir():
        xml_files, image_dir = sorted((folder / "Annotations").glob("*.xml")), folder / "JPEGImages"
    else:
        xml_files, image_dir = sorted(folder.glob("*.xml")), folder
    if not xml_files:
        raise ValueError(f"{folder}: no VOC .xml annotations found. {SOURCES_TEXT}")
    parsed, problems, root = [], [], folder.resolve()
    for xml_path in xml_files:
        try:
            parsed.append(_read_voc_file(xml_path, image_dir, root, skip_difficult))
        except ValueError as error:
            problems.append(f"{xml_path.name}: {error}")
    class_names = sorted({name for _, _, objects in parsed for name, _ in objects})
    samples = [
        DetectionSample(
            path, [box for _, box in objects], [class_names.index(n) for n, _ in objects], size
        )
        for path, size, objects in parsed
    ]
    return DetectionData(samples, class_names, problems)


def read_coco(json_path, images_dir=None):
    """Read a COCO detection JSON; images are looked up in ``images_dir`` (default: beside it).

    Category ids become contiguous labels in id order. An object whose ``category_id`` is not
    in ``categories`` gets label -1, which ``validate`` reports as an unknown class. Crowd
    annotations (``iscrowd``) are regions, not objects, and are left out. Images must lie
    inside ``images_dir``."""
    json_path = Path(json_path)
    images_dir = Path(images_dir) if images_dir else json_path.parent
    try:
        coco = json.loads(json_path.read_text())
        categories = sorted(coco.get("categories", []), key=lambda category: category["id"])
        label_of = {category["id"]: label for label, category in enumerate(categories)}
        index_of = {image["id"]: index for index, image in enumerate(coco["images"])}
        objects = [([], []) for _ in index_of]
        problems = _coco_objects(coco.get("annotations", []), index_of, label_of, objects)
        samples = _coco_samples(coco["images"], objects, images_dir, json_path.name, problems)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(
            f"{json_path}: not a readable COCO detection file with 'images', 'annotations' and "
            f"'categories' ({type(error).__name__}: {error})"
        ) from error
    return DetectionData(samples, [str(category["name"]) for category in categories], problems)


def _coco_samples(images, objects, images_dir, where, problems):
    """The images' samples; an image with a bad size or outside ``images_dir`` is a problem."""
    samples, root = [], images_dir.resolve()
    for image, (boxes, labels) in zip(images, objects):
        path = images_dir / image["file_name"]
        try:
            check_inside(path, root, repr(image["file_name"]))
            samples.append(DetectionSample(path, boxes, labels, _coco_size(image)))
        except ValueError as error:
            problems.append(f"{where} image {image['id']}: {error}")
    return samples


def _coco_size(image):
    if "height" not in image:
        return None
    return pixel_size(image["height"], "'height'"), pixel_size(image["width"], "'width'")


def _coco_objects(annotations, index_of, label_of, objects):
    """Put each annotation's box and label in ``objects[image index]``; returns problems."""
    problems = []
    for number, annotation in enumerate(annotations):
        if annotation.get("iscrowd"):
            continue
        where = f"annotation {number} (id {annotation.get('id')})"
        if annotation.get("image_id") not in index_of:
            problems.append(f"{where}: image_id {annotation.get('image_id')!r} is not in 'images'")
            continue
        try:
            x, y, width, height = (float(value) for value in annotation["bbox"])
        except (KeyError, TypeError, ValueError):
            problems.append(f"{where}: 'bbox' must be [x, y, width, height]")
            continue
        boxes, labels = objects[index_of[annotation["image_id"]]]
        boxes.append([x, y, x + width, y + height])
        labels.append(label_of.get(annotation.get("category_id"), -1))
    return problems


def _yolo_class_names(folder):
    for path in (folder / "classes.txt", folder / "data.yaml", folder / "dataset.yaml"):
        if path.is_file():
            check_inside(path, folder.resolve(), f"{path}: the file")
    if (folder / "classes.txt").is_file():
        lines = (folder / "classes.txt").read_text().splitlines()
        return [line.strip() for line in lines if line.strip()]
    for path in (folder / "data.yaml", folder / "dataset.yaml"):
        if path.is_file():
            import yaml

            names = (yaml.safe_load(path.read_text()) or {}).get("names")
            if isinstance(names, dict):
                return [str(names[key]) for key in sorted(names)]
            if isinstance(names, list):
                return [str(name) for name in names]
    raise ValueError(
        f"{folder}: no class names (need classes.txt, one a line, or data.yaml 'names')"
    )


def _image_size(path):
    """``(height, width)`` from the header, after EXIF rotation as ``decode_image`` applies it."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
            rotated = image.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    except Exception as error:  # Pillow raises many types on bad headers
        raise ValueError(f"{path.name}: missing or unreadable image ({error})") from error
    return (width, height) if rotated else (height, width)


def _read_yolo_sample(image_path, label_path):
    rows = []
    lines = label_path.read_text().splitlines() if label_path.is_file() else []
    for number, line in enumerate(lines, 1):
        try:
            values = [float(value) for value in line.split()]
        except ValueError:
            values = None
        if values == []:
            continue
        if values is None or len(values) != 5 or not values[0].is_integer():
            raise ValueError(
                f"{label_path.name} line {number}: expected 'class cx cy w h', got {line[:60]!r}"
            )
        rows.append(values)
    if not rows:
        return DetectionSample(image_path, [], [])  # a background image
    height, width = _image_size(image_path)
    rows = np.asarray(rows)
    centres, sizes = rows[:, 1:3] * [width, height], rows[:, 3:5] * [width, height]
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    labels = rows[:, 0]
    return DetectionSample(image_path, boxes, labels.astype("int32"), (height, width))


def read_yolo(folder):
    """Read a YOLO folder: ``images/**`` and ``labels/**`` (same relative paths, ``.txt``) with
    ``class cx cy w h`` lines normalised to 0..1; names from ``classes.txt`` or ``data.yaml``."""
    folder = Path(folder)
    class_names = _yolo_class_names(folder)
    image_root, label_root = folder / "images", folder / "labels"
    images = sorted(
        path for path in image_root.rglob("*") if path.suffix.lower() in IMAGE_EXTENSIONS
    )
    samples, problems, root = [], [], folder.resolve()
    for path in images:
        label_path = (label_root / path.relative_to(image_root)).with_suffix(".txt")
        try:
            check_inside(path, root, f"{path.name}: the image")
            check_inside(label_path, root, f"{label_path.name}: the label file")
            samples.append(_read_yolo_sample(path, label_path))
        except ValueError as error:
            problems.append(str(error))
    stems = {path.relative_to(image_root).with_suffix("") for path in images}
    for label_path in sorted(label_root.rglob("*.txt")):
        if label_path.relative_to(label_root).with_suffix("") not in stems:
            problems.append(f"{label_path.name}: missing image (no file of that name in images/)")
    return DetectionData(samples, class_names, problems)


def read_tfds_voc(name="voc/2007", split="train", *, skip_difficult=False, max_samples=None):
    """Read a TFDS VOC-style dataset (normalised ``ymin, xmin, ymax, xmax``) into memory.

    Offline the dataset must already be prepared in the TFDS data dir."""
    import tensorflow_datasets as tfds

    dataset, info = tfds_load(name, split, otherwise="a VOC, COCO or YOLO folder")
    samples = []
    for example in tfds.as_numpy(dataset.take(max_samples) if max_samples else dataset):
        image, objects = example["image"], example["objects"]
        height, width = image.shape[:2]
        keep = ~objects["is_difficult"] if skip_difficult else slice(None)
        ymin, xmin, ymax, xmax = objects["bbox"][keep].reshape(-1, 4).T
        boxes = np.stack([xmin * width, ymin * height, xmax * width, ymax * height], axis=1)
        filename = example["image/filename"].decode()
        samples.append(
            DetectionSample(image, boxes, objects["label"][keep], (height, width), filename)
        )
    return DetectionData(samples, list(info.features["objects"]["label"].names))


def load_detection_source(source):
    """``tfds:NAME[:SPLIT]``, a COCO ``.json``, a VOC folder or a YOLO folder → DetectionData."""
    if named := tfds_source(source):
        name, split = named
        return read_tfds_voc(name or "voc/2007", split)
    path = Path(source)
    if path.is_file() and path.suffix.lower() == ".json":
        return read_coco(path)
    if path.is_dir() and ((path / "Annotations").is_dir() or any(path.glob("*.xml"))):
        return read_voc(path)
    if path.is_dir() and (path / "labels").is_dir():
        return read_yolo(path)
    raise ValueError(f"{source}: not a detection dataset. {SOURCES_TEXT}")
