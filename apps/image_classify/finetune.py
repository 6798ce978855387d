"""``python -m apps.image_classify.finetune --data DIR|tfds:NAME [--mode ...]``: train a run."""

import sys

from apps.image_classify import train
from apps.image_classify.config import FinetuneConfig
from shared.finetune_cli import finetune_main


def main(argv=None):
    """Parse flags (defaults < --config file < flags), train, print where the run is."""
    return finetune_main(FinetuneConfig, train, app="image_classify", argv=argv, input_hint="IMAGE")


if __name__ == "__main__":
    sys.exit(main())
