"""Image classification on EfficientNet-Lite (bundled, offline) and keras-hub presets."""

from apps import AppSpec

_CONVERT = "apps.image_classify.weights:convert_"

SPEC = AppSpec(
    name="image_classify",
    title="Image classification",
    icon=":material/image_search:",
    description="Name what is in a photo (1000 ImageNet classes) or teach it your own classes.",
    modality="image",
    default_model="bundled:efficientnet_lite0",
    bundled={
        "efficientnet_lite0": _CONVERT + "lite0",
        "efficientnet_lite1": _CONVERT + "lite1",
        "efficientnet_lite2": _CONVERT + "lite2",
    },
    hub_presets=(
        "efficientnet_b0_ra_imagenet",
        "efficientnet_lite0_ra_imagenet",
        "mobilenet_v3_large_100_imagenet",
        "mobilenet_v3_small_100_imagenet",
        "resnet_50_imagenet",
        "resnet_vd_50_ssld_v2_imagenet",
        "vit_base_patch16_224_imagenet",
        "deit_tiny_distilled_patch16_224_imagenet",
        "densenet_121_imagenet",
    ),
)
