"""Teaching sounds with the bundled Whisper tiny.en encoder: real speech (the Debian "cards"
clips), tones and noise → a head trained on cached features → predictions on held-out clips →
a kept run that ``Predictor`` reloads."""

import numpy as np
import pytest

from apps.speech.predictor import Predictor
from apps.speech.teach import SoundTeacher, check_class_names
from shared import runs
from shared.audio import decode_audio

pytestmark = pytest.mark.real_weights

RATE = 16000


def tone(frequency, seconds=1.5, seed=0):
    rng = np.random.default_rng(seed)
    time = np.arange(int(seconds * RATE)) / RATE
    wave = 0.3 * np.sin(2 * np.pi * frequency * time) + 0.01 * rng.normal(size=time.shape)
    return wave.astype("float32")


def noise(seconds=1.5, seed=0):
    return (0.2 * np.random.default_rng(seed).normal(size=int(seconds * RATE))).astype("float32")


@pytest.fixture(scope="module")
def examples(cards_clips):
    """``{class: [clips]}``: four to train on and a fifth held out, per class."""
    return {
        "speech": [decode_audio(path) for path, _ in cards_clips],
        "tone": [tone(frequency, seed=i) for i, frequency in enumerate((440, 520, 660, 880, 600))],
        "noise": [noise(seed=seed) for seed in range(5)],
    }


@pytest.fixture(scope="module")
def taught(examples, tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("runs")
    teacher = SoundTeacher(runs_dir=runs_dir)
    for name, clips in examples.items():
        for clip in clips[:4]:
            teacher.add(name, clip)
    metrics = teacher.train(list(examples))
    return teacher, metrics, runs_dir


def test_features_are_cached_once_per_example(taught):
    teacher, _, _ = taught
    assert teacher.counts() == {"speech": 4, "tone": 4, "noise": 4}
    clip, vector = teacher.examples["tone"][0]
    assert len(clip) == teacher.clip_seconds * RATE
    assert vector.shape == (teacher.backbone.hidden_dim,)


def test_trains_and_predicts_held_out_clips(taught, examples):
    teacher, metrics, _ = taught
    assert metrics["examples"] == 12 and metrics["held_out"] == 3
    assert 0.0 <= metrics["accuracy"] <= 1.0 and metrics["train_seconds"] > 0
    for name, clips in examples.items():
        predicted, score = teacher.predict(clips[4])
        assert predicted == name, (name, predicted, score)
        assert 0.0 < score <= 1.0


def test_kept_run_reloads_and_predicts_the_same(taught, examples):
    teacher, metrics, runs_dir = taught
    run = teacher.keep(metrics, name="taught: noise, speech, tone")
    assert run.state == "complete" and run.labels == ["noise", "speech", "tone"]
    assert run.metrics["task"] == "classify"
    assert len(list((run.path / "data" / "speech").glob("*.wav"))) == 4
    predictor = Predictor.load(run.ref, runs_dir=runs_dir)
    for name, clips in examples.items():
        result = predictor.predict(clips[4])
        assert result.text == name
        assert result.labels[0]["score"] == pytest.approx(teacher.predict(clips[4])[1], abs=1e-4)
    assert runs.open_run(run.ref.split(":", 1)[1], runs_dir=runs_dir, app="speech").config[
        "clip_seconds"
    ] == (teacher.clip_seconds)


def test_refuses_bad_input(taught):
    teacher, _, _ = taught
    with pytest.raises(ValueError, match="at least two classes"):
        check_class_names(["only"])
    with pytest.raises(ValueError, match="add at least one example of quiet"):
        teacher.train(["speech", "quiet"])
    with pytest.raises(ValueError, match="non-empty mono audio"):
        teacher.add("speech", np.zeros(0, "float32"))
