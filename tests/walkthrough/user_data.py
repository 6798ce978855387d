"""Small made stand-ins for the user's data that the README's commands name.

Each has the shape the README describes (a folder per class, a Pascal VOC folder, a manifest
with a header row, sentence pairs ...), only fewer and smaller items. Speech uses Debian's
``pocketsphinx-testdata`` recordings: real speech, so that a transcript can be checked.
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import soundfile
from PIL import Image

from apps.detection.scenes import make_scenes, write_voc
from apps.image_classify.data import synthetic_shapes, write_image_folder
from apps.speech.data import synthetic_tones
from shared.audio import decode_audio, encode_wav
from shared.ui.samples import TESTDATA, read_references

SAMPLE_RATE = 16000
LIBRIVOX = "librivox/sense_and_sensibility_01_austen_64kb-{}.wav"
# A talk over 30 s: five sentences, then one that runs across the 30 s window boundary.
TALK = [LIBRIVOX.format(n) for n in ("0870", "0890", "0920", "0930", "0880")] + ["cards/005.wav"]
TRAIN_CLIPS = ("cards/001.wav", "cards/002.wav", "cards/003.wav", LIBRIVOX.format("0880"))
TEST_CLIPS = ("cards/004.wav", LIBRIVOX.format("0930"))
PAIRS = (
    ("Good morning.", "Bom dia."),
    ("Thank you very much.", "Muito obrigado."),
    ("Where is the station?", "Onde fica a estação?"),
    ("The cat is sleeping.", "O gato está dormindo."),
    ("I like coffee.", "Eu gosto de café."),
    ("The book is on the table.", "O livro está na mesa."),
    ("We are going to the beach.", "Nós vamos à praia."),
    ("It is raining today.", "Está chovendo hoje."),
    ("My house is small.", "Minha casa é pequena."),
    ("See you tomorrow.", "Até amanhã."),
)
GERMAN = "Guten Morgen. Ich habe heute leider keine Zeit, weil ich nach Berlin fahren muss."
LETTER = "Querida Ana,\n\nEstou bem. O tempo está bom e a cidade é bonita.\n\nUm abraço, João\n"


def _speech(relative):
    path = TESTDATA / relative
    if not path.is_file():
        pytest.skip("needs Debian pocketsphinx-testdata: apt-get install pocketsphinx-testdata")
    return path


def _image_folder(path, seed):
    write_image_folder(synthetic_shapes(num_per_class=6, image_size=64, seed=seed), path)


def _faces(path):
    """The 100 faces of scikit-image's LFW subset (grey 25x25 crops): one batch of 64 and more."""
    path.mkdir(parents=True)
    for index, face in enumerate(skimage.data.lfw_subset()[:100]):
        Image.fromarray(np.round(face * 255).astype("uint8")).save(path / f"face_{index:03d}.png")


def _photo(path):
    Image.fromarray(skimage.data.coffee()).save(path, quality=90)


def _voc(path, seed):
    write_voc(make_scenes(8, image_size=128, seed=seed), path)


def _keywords(path):
    clips = synthetic_tones(num_per_class=4, seconds=1.0, seed=0)
    for index, (clip, label) in enumerate(zip(clips.clips, clips.labels)):
        target = path / clips.class_names[label] / f"{index:03d}.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(encode_wav(clip, SAMPLE_RATE))


def _manifest(path, clips):
    """A manifest with its clips in ``clips/`` beside it, as the README shows one."""
    references = read_references()
    rows = ["path\ttext"]
    for relative in clips:
        clip = Path("clips") / Path(relative).name
        (path.parent / clip).parent.mkdir(exist_ok=True)
        shutil.copyfile(_speech(relative), path.parent / clip)
        rows.append(f"{clip}\t{references[Path(relative).stem]}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def _talk(path):
    pause = np.zeros(SAMPLE_RATE // 2, "float32")
    pieces = [np.concatenate([decode_audio(_speech(clip)), pause]) for clip in TALK]
    soundfile.write(path, np.concatenate(pieces), SAMPLE_RATE, format="FLAC")


def _german_talk(path):
    """A German sentence spoken by ``espeak-ng``."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("needs Debian espeak-ng: apt-get install espeak-ng")
    subprocess.run(["espeak-ng", "-v", "de", "-w", str(path), GERMAN], check=True)


def _pairs(path, pairs):
    path.write_text("".join(f"{en}\t{pt}\n" for en, pt in pairs), encoding="utf-8")


MAKERS = {
    "flowers": lambda path: _image_folder(path, seed=0),
    "flowers_test": lambda path: _image_folder(path, seed=1),
    "my_photo.jpg": _photo,
    "my_faces": _faces,
    "my_voc_folder": lambda path: _voc(path, seed=0),
    "my_test_folder": lambda path: _voc(path, seed=1),
    "keywords/": _keywords,
    "long_talk.flac": _talk,
    "german_talk.wav": _german_talk,
    "my_clips.tsv": lambda path: _manifest(path, TRAIN_CLIPS),
    "test_clips.tsv": lambda path: _manifest(path, TEST_CLIPS),
    "my_pairs.tsv": lambda path: _pairs(path, PAIRS),
    "test_pairs.tsv": lambda path: _pairs(path, PAIRS[:4]),
    "carta.txt": lambda path: path.write_text(LETTER, encoding="utf-8"),
}
# Data the product reads from a package or a dataset name rather than from a user's file.
NAMED_SOURCES = ("fashion-mnist", "bible:", "tfds:")


def make(name, folder):
    """Writes the stand-in for ``name`` into ``folder`` (once)."""
    path = Path(folder) / name
    if not path.exists():
        MAKERS[name](path)
