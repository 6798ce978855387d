"""Build and load image classifiers (keras-hub ``ImageClassifier`` tasks)."""

from pathlib import Path

from apps.image_classify.config import MODELS
from shared.atomic_io import read_json
from shared.efficientnet_lite import backbone_full_config, record_num_features
from shared.model_files import reports_load_failures
from shared.models import resolve_model_ref
from shared.training import TransferParts

LABELS_FILE = Path(__file__).with_name("imagenet_classes.txt")


def imagenet_labels():
    """The 1000 ImageNet-1k class names, index-aligned with the models' outputs."""
    return LABELS_FILE.read_text(encoding="utf-8").splitlines()


def _load_task(location):
    import keras
    import keras_hub

    if str(location).endswith(".keras"):
        return keras.saving.load_model(location)
    return keras_hub.models.ImageClassifier.from_preset(location)


def image_size_of(model):
    """The (height, width) the model's preprocessor resizes images to (224×224 if unknown)."""
    converter = getattr(getattr(model, "preprocessor", None), "image_converter", None)
    size = getattr(converter, "image_size", None)
    return tuple(size) if size else (224, 224)


@reports_load_failures
def load_classifier(ref=None, *, runs_dir=None):
    """Load a classifier from any model reference (see ``shared.models``).

    Args:
        ref: model reference; None means ``bundled:efficientnet_lite0``.
        runs_dir: runs registry root.

    Returns:
        ``(task, labels, ref)``: the keras-hub ``ImageClassifier`` (outputs logits; has a
        preprocessor), its class names index-aligned with the outputs, and the reference
        it was loaded from.
    """
    resolved = resolve_model_ref(ref, MODELS, runs_dir=runs_dir)
    task = _load_task(resolved.location)
    num_outputs = int(task.output_shape[-1])
    labels = _labels_for(resolved, num_outputs)
    if len(labels) != num_outputs:
        raise ValueError(f"{resolved.ref}: model has {num_outputs} outputs, {len(labels)} labels")
    return task, labels, resolved.ref


def _labels_for(resolved, num_outputs):
    """Class names: the run's, a ``labels.json`` inside/beside a local model, else ImageNet's
    for 1000 outputs, else ``class_<i>``."""
    if resolved.run is not None:
        return resolved.run.labels
    if resolved.kind == "path":
        location = Path(resolved.location)
        folder = location if location.is_dir() else location.parent
        for candidate in (folder / "labels.json", folder.parent / "labels.json"):
            labels = read_json(candidate)
            if isinstance(labels, list) and len(labels) == num_outputs:
                return labels
    if num_outputs == 1000:
        return imagenet_labels()
    return [f"class_{index}" for index in range(num_outputs)]


@reports_load_failures
def base_image_size(ref, *, runs_dir=None):
    """The square input size of the model behind ``ref``, read without building it."""
    import keras_hub

    resolved = resolve_model_ref(ref, MODELS, runs_dir=runs_dir)
    if resolved.location.endswith(".keras"):
        return image_size_of(_load_task(resolved.location))[0]
    preprocessor = keras_hub.models.ImageClassifierPreprocessor.from_preset(resolved.location)
    return tuple(preprocessor.image_converter.image_size)[0]


def build_transfer_classifier(ref, num_classes, *, pretrained=True, dropout=0.2, runs_dir=None):
    """A new classifier: the pretrained backbone of ``ref`` with a fresh ``num_classes`` head.

    Args:
        ref: model reference of the starting model.
        num_classes: number of output classes.
        pretrained: False builds the same architecture with random weights ("scratch").
        dropout: dropout rate before the new head.
        runs_dir: runs registry root.

    Returns:
        A keras-hub ``ImageClassifier`` (logits output, preprocessor attached).
    """
    import keras
    import keras_hub

    resolved = resolve_model_ref(ref, MODELS, runs_dir=runs_dir)
    # Presets store float32; ask for the global policy so mixed precision (GPU) applies.
    options = {"num_classes": num_classes, "dtype": keras.mixed_precision.global_policy().name}
    if resolved.location.endswith(".keras"):
        source = _load_task(resolved.location)
        task_cls = type(source)
        backbone, preprocessor = source.backbone, source.preprocessor
        if not pretrained:
            backbone = backbone.__class__.from_config(backbone_full_config(backbone))
        _check_head(task_cls.__name__, resolved.ref)
        return task_cls(backbone=backbone, preprocessor=preprocessor, dropout=dropout, **options)
    from keras_hub.src.utils.preset_utils import get_preset_loader

    backbone_cls = get_preset_loader(resolved.location).check_backbone_class()
    _check_head(backbone_cls.__name__, resolved.ref)
    return keras_hub.models.ImageClassifier.from_preset(
        resolved.location, load_weights=pretrained, dropout=dropout, **options
    )


# keras-hub classifiers built as backbone → pooler → dropout → dense (the recipe splits those).
FINETUNABLE_FAMILIES = ("EfficientNet", "ResNet", "DenseNet", "CSPNet", "Xception")


def _check_head(class_name, ref):
    """Fail plainly for classifiers whose head differs (ViT, DeiT, MobileNet, VGG ...)."""
    if not class_name.startswith(FINETUNABLE_FAMILIES):
        raise ValueError(
            f"{ref}: fine-tuning supports {', '.join(FINETUNABLE_FAMILIES)} classifiers; "
            f"{class_name} has a different head (it still works for prediction)"
        )


def transfer_parts(task):
    """Split a keras-hub ``ImageClassifier`` into the pieces the training recipe needs.

    The returned models share layer objects with ``task``, so training any of them
    trains the task. The preprocessor is left out: datasets come preprocessed.
    """
    import keras

    image_input = keras.Input(task.backbone.input_shape[1:], name="images")
    pooled = task.pooler(task.backbone(image_input))
    feature_extractor = keras.Model(image_input, pooled, name="feature_extractor")
    feature_input = keras.Input(pooled.shape[1:], name="features")
    logits = task.output_dense(task.output_dropout(feature_input))
    head = keras.Model(feature_input, logits, name="head")
    model = keras.Model(image_input, head(pooled), name="classifier")
    return TransferParts(model, task.backbone, feature_extractor, head)


def save_classifier(task, directory):
    """Save a classifier as a keras-hub preset directory (reloads with ``from_preset``)."""
    task.save_to_preset(str(directory))
    record_num_features(directory, task.backbone)


def serving_model(task):
    """Images in [0, 255] at the model's size → logits: the export includes the scaling.

    Built straight from the task's layers (no nested training models), with every backbone
    layer frozen: traced through nested functional models, trainable layers were exported in
    training mode in Keras 3.15 (BatchNorm on batch statistics), and a backbone reloaded
    from a preset keeps its layers trainable when only ``backbone.trainable`` is set.
    """
    import keras

    task.backbone.trainable = False
    for layer in task.backbone.layers:
        layer.trainable = False
    height, width = task.preprocessor.image_converter.image_size
    images = keras.Input((height, width, 3), name="images")
    features = task.backbone(task.preprocessor.image_converter(images))
    logits = task.output_dense(task.pooler(features))
    return keras.Model(images, logits, name="serving")
