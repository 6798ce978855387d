"""``python -m tests.ui.toy_app.finetune --data FOLDER``: the toy app's training command."""

import sys

from shared.finetune_cli import finetune_main
from tests.ui.toy_app import train
from tests.ui.toy_app.toy import ToyConfig


def main(argv=None):
    return finetune_main(ToyConfig, train, app="toy", argv=argv)


if __name__ == "__main__":
    sys.exit(main())
