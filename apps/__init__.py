"""The TransferZoo applications: the one table of their specs.

An app is a folder under ``apps/`` whose ``__init__`` defines ``SPEC`` (``shared.app_spec``)
and one line here; the command lines, the pages and the benches find everything through it.
"""

from shared.quiet import quiet_tensorflow_logs

# First, before any app imports keras: the command lines' stderr stays free of TensorFlow's
# native start-up logs.
quiet_tensorflow_logs()

from apps.detection import SPEC as DETECTION  # noqa: E402
from apps.gan import SPEC as GAN  # noqa: E402
from apps.image_classify import SPEC as IMAGE_CLASSIFY  # noqa: E402
from apps.speech import SPEC as SPEECH  # noqa: E402
from apps.translate import SPEC as TRANSLATE  # noqa: E402
from shared.app_spec import find_app  # noqa: E402

APPS = (IMAGE_CLASSIFY, DETECTION, SPEECH, TRANSLATE, GAN)


def get_app(name):
    """The ``AppSpec`` called ``name``; ``ValueError`` listing the apps otherwise."""
    return find_app(APPS, name)
