"""The image backbones the image apps start from: one catalogue of references.

The classifier, the detector and the GAN resolve their backbone and feature-network
references against ``IMAGE_BACKBONES``. It keeps the image classifier's name, so
``run:<id>`` references of fine-tuned classifiers (in ``runs/image_classify``) resolve here
too, and the converted ``bundled:`` weights are cached once for all three apps.
"""

from shared.efficientnet_lite import convert_lite0, convert_lite1, convert_lite2
from shared.models import ModelCatalog

IMAGE_BACKBONES = ModelCatalog(
    name="image_classify",
    title="Image classification",
    default_model="bundled:efficientnet_lite0",
    bundled={
        "efficientnet_lite0": convert_lite0,
        "efficientnet_lite1": convert_lite1,
        "efficientnet_lite2": convert_lite2,
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
