"""The TransferZoo applications: one ``AppSpec`` per app, in an explicit table."""

from dataclasses import dataclass, field

from shared.quiet import quiet_tensorflow_logs

# First, before any app imports keras: the command lines' stderr stays free of TensorFlow's
# native start-up logs.
quiet_tensorflow_logs()


@dataclass(frozen=True)
class AppSpec:
    """What the shared code and the front end need to know about one app.

    Args:
        name: package name under ``apps/`` and the runs-registry folder.
        title: human title for the UI.
        icon: a Material icon name or emoji for the UI.
        description: one sentence for the home page.
        modality: the input kind ("image", "audio", "text", "latent").
        default_model: the model reference used when none is given (always offline).
        bundled: ``bundled:<name>`` entries: name -> "module:function" that converts the
            packaged weights into a Keras preset directory given as its only argument.
        hub_presets: keras-hub preset names offered as online choices.
    """

    name: str
    title: str
    icon: str
    description: str
    modality: str
    default_model: str
    bundled: dict = field(default_factory=dict)
    hub_presets: tuple = ()


def _specs():
    from apps.detection import SPEC as DETECTION
    from apps.gan import SPEC as GAN
    from apps.image_classify import SPEC as IMAGE_CLASSIFY
    from apps.speech import SPEC as SPEECH
    from apps.translate import SPEC as TRANSLATE

    return (IMAGE_CLASSIFY, DETECTION, SPEECH, TRANSLATE, GAN)


APPS = _specs()


def get_app(name):
    """Return the ``AppSpec`` called ``name``; ``ValueError`` listing the apps otherwise."""
    for spec in APPS:
        if spec.name == name:
            return spec
    raise ValueError(f"Unknown app {name!r}; available: {[spec.name for spec in APPS]}")
