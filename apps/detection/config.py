"""Configuration of the detection commands: fine-tune (CLI flags, config files, the UI),
predict and evaluate."""

from dataclasses import dataclass, field
from typing import Literal

from apps.detection.mtcnn_weights import convert_mtcnn
from apps.detection.yolo_weights import convert_yolov3_tiny_coco
from shared.export import FORMATS, check_formats
from shared.models import ModelCatalog
from shared.predict_cli import PredictOptions, inputs_field

MODELS = ModelCatalog(
    name="detection",
    title="Object detection",
    default_model="bundled:yolov3_tiny_coco",
    bundled={"yolov3_tiny_coco": convert_yolov3_tiny_coco, "mtcnn_faces": convert_mtcnn},
    hub_presets=(
        "retinanet_resnet50_fpn_coco",
        "retinanet_resnet50_fpn_v2_coco",
        "dfine_nano_coco",
        "dfine_small_coco",
        "dfine_medium_coco",
        "dfine_small_obj365",
    ),
)


@dataclass(frozen=True)
class FinetuneConfig:
    """A detector trained on the user's boxes: a CenterNet head on a pretrained backbone, or
    the COCO YOLOv3-tiny with new output convolutions (``--model bundled:yolov3_tiny_coco``)."""

    data: str = field(
        default="", metadata={"help": "VOC folder, COCO .json, YOLO folder, or tfds:voc/2007"}
    )
    model: str = field(
        default="bundled:efficientnet_lite0",
        metadata={
            "help": "CenterNet backbone (an image-classification reference) or "
            "bundled:yolov3_tiny_coco to fine-tune the COCO YOLOv3-tiny"
        },
    )
    mode: Literal["feature_extract", "fine_tune", "scratch"] = field(
        default="fine_tune", metadata={"help": "frozen backbone, top blocks unfrozen, or scratch"}
    )
    epochs: int = field(default=30, metadata={"help": "training epochs"})
    batch_size: int = field(default=8, metadata={"help": "images per batch"})
    learning_rate: float = field(default=1e-3, metadata={"help": "Adam learning rate"})
    unfreeze_blocks: int = field(default=3, metadata={"help": "top backbone blocks to train"})
    image_size: int = field(default=256, metadata={"help": "square input size (multiple of 32)"})
    augment: bool = field(default=True, metadata={"help": "flip / zoom / shift with boxes"})
    validation_split: float = field(default=0.2, metadata={"help": "held-out fraction"})
    map_every: int = field(default=5, metadata={"help": "epochs between validation mAP"})
    patience: int = field(default=10, metadata={"help": "early-stopping patience"})
    seed: int = field(default=42, metadata={"help": "random seed"})
    runs_dir: str | None = field(default=None, metadata={"help": "runs registry root"})
    name: str | None = field(default=None, metadata={"help": "a name to show for the run"})
    tensorboard: bool = field(default=True, metadata={"help": "write TensorBoard logs"})
    export: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "also export, each export's mAP50 checked on the held-out images: "
            + ", ".join(FORMATS)
        },
    )

    @classmethod
    def tiny(cls, **overrides):
        """A short configuration for tests."""
        values = dict(epochs=2, batch_size=4, image_size=64, map_every=1, patience=2)
        return cls(**(values | overrides))

    def validate(self):
        """Raise ``ValueError`` naming the first bad value."""
        if not self.data:
            raise ValueError("--data is required: a VOC/YOLO folder, a COCO .json or tfds:NAME")
        if self.image_size < 32 or self.image_size % 32:
            raise ValueError(f"image_size must be a multiple of 32, received {self.image_size}")
        for name in ("epochs", "batch_size", "unfreeze_blocks", "map_every", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, received {getattr(self, name)}")
        if not 0.0 <= self.validation_split < 1.0:
            raise ValueError(
                f"validation_split must be in [0, 1), received {self.validation_split}"
            )
        check_formats(self.export)
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, received {self.learning_rate}")


@dataclass(frozen=True)
class PredictConfig(PredictOptions):
    """``python -m apps.detection.predict``: images in, boxes out (optionally drawn)."""

    inputs: tuple[str, ...] = inputs_field(metavar="IMAGE", kind="image")
    score_threshold: float | None = field(
        default=None, metadata={"help": "minimum score (none: the detector's own)"}
    )
    iou_threshold: float = field(default=0.5, metadata={"help": "NMS overlap limit"})
    save_dir: str | None = field(default=None, metadata={"help": "also write drawn images here"})


@dataclass(frozen=True, kw_only=True)
class EvaluateConfig:
    """``python -m apps.detection.evaluate``: COCO mAP of a detector on a dataset."""

    model: str | None = field(default=None, metadata={"help": "model reference"})
    data: str = field(metadata={"help": "VOC/YOLO folder, COCO .json, tfds:NAME"})
    runs_dir: str | None = field(default=None, metadata={"help": "runs registry root"})
    json: bool = field(
        default=False, metadata={"help": "print the report as JSON", "action": "store_true"}
    )
