"""Object detection: MTCNN faces (bundled, offline), keras-hub COCO detectors, and a
CenterNet detector fine-tuned on the user's boxes."""

from apps import AppSpec

SPEC = AppSpec(
    name="detection",
    title="Object detection",
    icon=":material/center_focus_strong:",
    description="Find faces offline, COCO objects online, or train a detector on your boxes.",
    modality="image",
    default_model="bundled:mtcnn_faces",
    bundled={"mtcnn_faces": "apps.detection.mtcnn_weights:convert_mtcnn"},
    hub_presets=(
        "retinanet_resnet50_fpn_coco",
        "retinanet_resnet50_fpn_v2_coco",
        "dfine_nano_coco",
        "dfine_small_coco",
        "dfine_medium_coco",
        "dfine_small_obj365",
    ),
)
