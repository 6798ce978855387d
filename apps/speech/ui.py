"""What the pages use of speech: its recordings, its compact view, its demo data.

The recordings are the test clips of the Debian package ``pocketsphinx-testdata`` when it is
installed; a generated tone is always offered so the pages work without them.
"""

import functools
import textwrap
from pathlib import Path

from apps.speech.data import synthetic_tones, write_clip_folder
from apps.speech.tokenizer import language_label
from shared.app_spec import DemoData
from shared.ui.samples import TESTDATA, generated_tone, read_references
from shared.ui.text import escape_markdown

# (corpus, its clips); their reference transcripts come from shared.ui.samples.
CORPORA = (("cards", "cards/00[1-5].wav"), ("librivox", "librivox/*.wav"))
GENERATED_NAME = "generated — a rising tone (no speech)"
GENERATED_REFERENCE = "(no speech: a good model writes nothing, a weak one may invent words)"


def sample_label(corpus, clip_id, reference):
    """A short select-box label: corpus, clip number and the start of its reference."""
    label = f"{corpus} {clip_id.rsplit('-', 1)[-1]}"
    if reference:
        label += f" — “{textwrap.shorten(reference, width=48, placeholder='…')}”"
    return label


def find_test_clips(root=TESTDATA):
    """Label -> ``(path, reference or None)`` for the pocketsphinx test clips present."""
    clips = {}
    references = read_references(root)
    for corpus, pattern in CORPORA:
        for path in sorted(root.glob(pattern)):
            reference = references.get(path.stem)
            clips[sample_label(corpus, path.stem, reference)] = (path, reference)
    return clips


TEST_CLIPS = find_test_clips()
SAMPLES = {label: functools.partial(Path, path) for label, (path, _) in TEST_CLIPS.items()}
SAMPLES[GENERATED_NAME] = generated_tone
REFERENCES = {label: reference for label, (_, reference) in TEST_CLIPS.items() if reference}
REFERENCES[GENERATED_NAME] = GENERATED_REFERENCE


def language_text(transcript):
    """``"German (de), detected 86 %"``, ``"English (en)"`` (as asked), or None."""
    if transcript.language is None:
        return None
    text = language_label(transcript.language)
    if transcript.language_probability is not None:
        text += f", detected {transcript.language_probability:.0%}"
    return text + (", translated to English" if transcript.task == "translate" else "")


def render_compact(result, audio):
    """The transcript in large type."""
    import streamlit as st

    st.markdown(f"### {escape_markdown(result.text) or '(no speech heard)'}")


def summary(result):
    """The transcript, or a dash when nothing was heard."""
    return result.text or "—"


def write_demo_data(folder):
    """Low, high and chirping tones, 8 one-second clips each, one folder per class."""
    write_clip_folder(synthetic_tones(num_per_class=8, seconds=1.0, seed=0), folder)


DEMO_DATA = DemoData("low, high and chirping tones (3 classes, 8 clips each)", write_demo_data)
