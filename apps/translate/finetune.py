"""``python -m apps.translate.finetune --data PAIRS``: adapt a translation model; writes a run
with BLEU/chrF before and after and the model as a preset (load it with ``run:<id>``)."""

import sys

from apps.translate import train
from apps.translate.config import FinetuneConfig
from shared.finetune_cli import finetune_main


def main(argv=None):
    """Parse flags (defaults < --config file < flags), train, print where the run is."""
    return finetune_main(FinetuneConfig, train, app="translate", argv=argv, input_hint='"TEXT"')


if __name__ == "__main__":
    sys.exit(main())
