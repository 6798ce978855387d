"""``python -m apps.detection.finetune --data VOC|COCO|YOLO|tfds:NAME``: train a detector run."""

import sys

from apps.detection import train
from apps.detection.config import FinetuneConfig
from shared.finetune_cli import finetune_main


def main(argv=None):
    """Parse flags (defaults < --config file < flags), train, print where the run is."""
    return finetune_main(FinetuneConfig, train, app="detection", argv=argv, input_hint="IMAGE")


if __name__ == "__main__":
    sys.exit(main())
