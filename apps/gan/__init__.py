"""Image generation: a Projected GAN on frozen EfficientNet-Lite features vs a DCGAN."""

from apps import AppSpec

SPEC = AppSpec(
    name="gan",
    title="Image generation",
    icon=":material/auto_awesome:",
    description="Train a GAN on your images (Projected GAN on pretrained features, or DCGAN) "
    "and sample from it.",
    modality="latent",
    default_model="bundled:efficientnet_lite0",
    bundled={"efficientnet_lite0": "apps.image_classify.weights:convert_lite0"},
)
