"""TensorFlow Datasets sources: ``tfds:NAME[:SPLIT]`` names, loaded without downloading offline."""

from shared.models import is_offline

PREFIX = "tfds:"


def tfds_source(source, default_split="train"):
    """``(name, split)`` of a ``tfds:NAME[:SPLIT]`` source; None for any other source.

    The split defaults to ``default_split``; the name may be empty (``tfds:``), for the
    caller's own default.
    """
    text = str(source)
    if not text.startswith(PREFIX):
        return None
    name, _, split = text[len(PREFIX) :].partition(":")
    return name, split or default_split


def tfds_load(name, split, *, otherwise, **options):
    """``tfds.load(name, split=split, with_info=True, **options)``: ``(dataset, info)``.

    Online, a missing dataset is downloaded and prepared; offline (``shared.models.
    is_offline``) it must already be prepared in the TFDS data dir.

    Args:
        otherwise: what the user can give instead, for the error ("a VOC, COCO or YOLO
            folder").

    Raises:
        ValueError: the dataset or split is unknown or cannot be had; the message says so.
    """
    import tensorflow_datasets as tfds

    try:
        return tfds.load(name, split=split, with_info=True, download=not is_offline(), **options)
    except Exception as error:  # tfds raises many types for a missing or unknown dataset
        raise ValueError(
            f"tfds:{name} split {split!r} could not be loaded ({error}). Offline, TFDS datasets "
            f"must already be prepared in the TFDS data dir; otherwise use {otherwise}"
        ) from error
