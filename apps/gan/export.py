"""Export a trained generator for serving, and check every export against it.

Formats: those of ``shared.export.FORMATS`` (a SavedModel, TFLite in float32, float16 and
int8, ONNX). The exported model maps latent vectors to images in [0, 255] (float, height ×
width × 3). int8 is calibrated on ``REPRESENTATIVE_LATENTS`` latent vectors drawn as sampling
draws them. Each export is run on ``CHECK_LATENTS`` other latent vectors next to the Keras
generator and scored by its fidelity to the Keras images (``shared.export_metrics.Fidelity``):
under 30 dB PSNR it is refused.
"""

import keras

from apps.gan.model import latent_size, latent_vectors, load_generator
from shared.export import FORMATS, checked_exporter, export_checked
from shared.export_metrics import Fidelity

CHECK_LATENTS = 256
REPRESENTATIVE_LATENTS = 200


def serving_generator(generator):
    """``generator`` (tanh outputs in [-1, 1]) with its outputs scaled to [0, 255]."""
    latent = keras.Input((latent_size(generator),), name="latent")
    images = keras.layers.Rescaling(127.5, offset=127.5, name="to_pixels")(generator(latent))
    return keras.Model(latent, images, name="serving_generator")


def export_generator(run, generator, formats, seed, batch_size=64):
    """Write ``formats`` of ``generator`` into the run, check each; the report."""
    size = latent_size(generator)
    serving = serving_generator(generator)
    examples = latent_vectors(CHECK_LATENTS, seed + 1, size)  # not the calibration latents
    serving.predict(examples[:1], verbose=0)  # ONNX export needs it called
    return export_checked(
        serving,
        run,
        formats,
        representative=latent_vectors(REPRESENTATIVE_LATENTS, seed, size),
        examples=examples,
        metric=Fidelity(value_range=255.0),
        batch_size=batch_size,
    )


def export_run(run, formats=tuple(FORMATS)):
    """Export a complete GAN run's generator to ``formats`` (all by default); the report."""
    generator, _ = load_generator(run.ref, runs_dir=run.path.parent.parent)
    return export_generator(run, generator, formats, run.config.get("seed", 0))


EXPORTERS = (checked_exporter(export_run),)
