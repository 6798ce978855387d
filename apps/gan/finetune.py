"""``python -m apps.gan.finetune --data SOURCE [--model bundled:dcgan_faces] [--architecture
projected|dcgan]``: train a GAN run from scratch or from the pretrained face generator, with
FID/KID over time, sample grids per epoch, checkpoints and resume."""

import sys

from apps.gan import train
from apps.gan.config import FinetuneConfig
from shared.finetune_cli import finetune_main


def main(argv=None):
    """Parse flags (defaults < --config file < flags), train, print where the run is."""
    return finetune_main(
        FinetuneConfig, train, app="gan", argv=argv, input_hint="--num-samples 16 --out samples"
    )


if __name__ == "__main__":
    sys.exit(main())
