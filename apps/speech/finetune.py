"""``python -m apps.speech.finetune --data SOURCE``: keyword/audio-class heads on the Whisper
encoder, or transcript fine-tuning of the Whisper decoder; writes a run."""

import sys

from apps.speech import train
from apps.speech.config import FinetuneConfig
from shared.finetune_cli import finetune_main


def main(argv=None):
    """Parse flags (defaults < --config file < flags), train, print where the run is."""
    return finetune_main(FinetuneConfig, train, app="speech", argv=argv, input_hint="CLIP.wav")


if __name__ == "__main__":
    sys.exit(main())
