"""Sample inputs for the pages: photos, speech clips and texts that need no download.

No Streamlit here: plain tables and loaders. Images are scikit-image's bundled photos, speech
clips the Debian package ``pocketsphinx-testdata`` when installed (plus a generated tone that
is always there), texts a few short sentences. Nothing is downloaded.
"""

import functools
import re
from pathlib import Path

import numpy as np

TESTDATA = Path("/usr/share/pocketsphinx/test/data")
# (label prefix, clip, transcription file); sentences first, they make the better demos.
SPEECH_CLIPS = (
    ("librivox 0880", "librivox/sense_and_sensibility_01_austen_64kb-0880.wav"),
    ("librivox 0930", "librivox/sense_and_sensibility_01_austen_64kb-0930.wav"),
    ("cards 001", "cards/001.wav"),
    ("cards 005", "cards/005.wav"),
)
TRANSCRIPTION_FILES = ("librivox/transcription", "cards/cards.transcription")
TRANSCRIPTION_LINE = re.compile(r"<s>(?P<text>.*?)</s>\s*\((?P<clip>[^)]+)\)")
TONE_NAME = "generated tone (no speech)"
IMAGE_NAMES = ("chelsea", "coffee", "astronaut", "rocket")
TEXTS = {
    "greeting": "Hello, how are you today?",
    "weather": "The weather is beautiful and we are going to the beach.",
    "museum": "The museum opens at nine in the morning and closes at six.",
}


def load_image(name):
    """One of scikit-image's bundled photos as RGB uint8 (no download)."""
    from skimage import data

    if name == "motorcycle_left":  # the left view of a stereo pair
        return data.stereo_motorcycle()[0]
    return getattr(data, name)()


def image_samples(names):
    """Name -> loader of scikit-image's bundled photos ``names``, in that order."""
    return {name: functools.partial(load_image, name) for name in names}


IMAGE_SAMPLES = image_samples(IMAGE_NAMES)


def generated_tone(seconds=1.5, sample_rate=16000):
    """A rising tone with soft edges: always available, no speech in it."""
    times = np.arange(int(seconds * sample_rate)) / sample_rate
    phase = 2 * np.pi * np.cumsum(200.0 + 800.0 * times / seconds) / sample_rate
    envelope = np.minimum(1.0, np.minimum(times, seconds - times) / 0.1)
    return (0.3 * envelope * np.sin(phase)).astype(np.float32), sample_rate


def read_references(root=TESTDATA):
    """Clip id -> reference transcript from the Sphinx transcription files present."""
    references = {}
    for name in TRANSCRIPTION_FILES:
        try:
            lines = (root / name).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for match in filter(None, map(TRANSCRIPTION_LINE.search, lines)):
            references[match["clip"]] = " ".join(match["text"].split())
    return references


def audio_samples(root=TESTDATA):
    """Label -> loader (a path or ``(audio, rate)``) of the speech clips present, then a tone."""
    references = read_references(root)
    samples = {}
    for prefix, relative in SPEECH_CLIPS:
        path = root / relative
        if path.is_file():
            reference = references.get(path.stem)
            label = f"{prefix} — “{reference}”" if reference else prefix
            samples[label] = functools.partial(Path, path)
    samples[TONE_NAME] = generated_tone
    return samples


def text_samples():
    """Name -> loader of a short English sentence."""
    return {name: functools.partial(str, text) for name, text in TEXTS.items()}
