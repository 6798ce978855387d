"""Speech test fixtures: a tiny random Whisper preset and the Debian "cards" clips."""

import re
import shutil
from pathlib import Path

import pytest

CARDS = Path("/usr/share/pocketsphinx/test/data/cards")
CARDS_SKIP = "needs Debian pocketsphinx-testdata: apt-get install pocketsphinx-testdata"


def read_cards_transcription(path):
    """``{clip id: text}`` from lines like ``<s> ten of clubs  </s> (001)``."""
    texts = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\s*<s>(.*)</s>\s*\((\w+)\)\s*", line)
        if match:
            texts[match.group(2)] = " ".join(match.group(1).split())
    return texts


@pytest.fixture(scope="session")
def cards_clips():
    """``[(wav path, reference text)]`` of the five cards clips; skips when not installed."""
    transcription = CARDS / "cards.transcription"
    paths = [CARDS / f"{number:03d}.wav" for number in range(1, 6)]
    if not transcription.is_file() or not all(path.is_file() for path in paths):
        pytest.skip(CARDS_SKIP)
    texts = read_cards_transcription(transcription)
    return [(path, texts[path.stem]) for path in paths]


@pytest.fixture(scope="session")
def tiny_whisper_preset(tmp_path_factory):
    """A converted-preset directory of a random 1-layer Whisper with the real tokenizer.

    Laid out as ``apps.speech.weights.convert_whisper`` writes it, so ``load_transcriber``
    (and ``Predictor.load``) take its path; the vocabulary is tiny.en's, the rest is tiny.
    """
    import keras
    import keras_hub

    from apps.speech.tokenizer import TOKENIZER_FILE
    from apps.speech.weights import tiny_en_model_dir, write_metadata

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.WhisperBackbone(
        vocabulary_size=51864,
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        num_mels=80,
        max_encoder_sequence_length=3000,
        max_decoder_sequence_length=64,
    )
    preset_dir = tmp_path_factory.mktemp("tiny_whisper_preset")
    backbone.save_to_preset(str(preset_dir))
    model_dir = tiny_en_model_dir()
    (preset_dir / TOKENIZER_FILE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_dir / "tokenizer.json", preset_dir / TOKENIZER_FILE)
    write_metadata(model_dir, preset_dir, backbone)
    return preset_dir
