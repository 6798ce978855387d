"""Speech test fixtures: tiny random Whisper presets (English-only and multilingual) and the
Debian "cards" clips."""

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


def random_whisper_preset(preset_dir, model_dir, vocabulary_size):
    """Write a converted-preset directory of a random 1-layer Whisper with the real tokenizer
    and config of the CTranslate2 files in ``model_dir``.

    Laid out as ``apps.speech.weights.convert_whisper`` writes it, so ``load_transcriber``
    (and ``Predictor.load``) take its path.
    """
    import keras
    import keras_hub

    from apps.speech.tokenizer import TOKENIZER_FILE
    from apps.speech.weights import write_metadata

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.WhisperBackbone(
        vocabulary_size=vocabulary_size,
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        num_mels=80,
        max_encoder_sequence_length=3000,
        max_decoder_sequence_length=64,
    )
    backbone.save_to_preset(str(preset_dir))
    (preset_dir / TOKENIZER_FILE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_dir / "tokenizer.json", preset_dir / TOKENIZER_FILE)
    write_metadata(model_dir, preset_dir, backbone)
    return preset_dir


@pytest.fixture(scope="session")
def tiny_whisper_preset(tmp_path_factory):
    """A random 1-layer English-only Whisper: tiny.en's vocabulary, the rest tiny."""
    from apps.speech.weights import tiny_en_model_dir

    preset_dir = tmp_path_factory.mktemp("tiny_whisper_preset")
    return random_whisper_preset(preset_dir, tiny_en_model_dir(), 51864)


@pytest.fixture(scope="session")
def tiny_multilingual_preset(tmp_path_factory):
    """A random 1-layer multilingual Whisper: Whisper base's vocabulary and 99 languages."""
    from apps.speech.weights import base_data_dirs

    preset_dir = tmp_path_factory.mktemp("tiny_multilingual_preset")
    return random_whisper_preset(preset_dir, base_data_dirs()[-1], 51865)
