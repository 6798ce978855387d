"""Speech datasets: (audio, transcript) manifests, class-per-folder clips, TFDS, synthetic."""

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.audio import AUDIO_EXTENSIONS, decode_audio, encode_wav
from shared.sources import is_inside, utf8_text
from shared.tfds import tfds_load

_PATH_COLUMNS = ("path", "file", "audio", "filename", "wav")
_TEXT_COLUMNS = ("text", "transcript", "sentence", "transcription")
MAX_LISTED_PROBLEMS = 20


def _rows(manifest):
    """The CSV/TSV rows of a manifest; a tab in the header (or a .tsv name) says TSV."""
    text = utf8_text(manifest)
    tsv = manifest.suffix.lower() == ".tsv" or "\t" in text.split("\n")[0]
    reader = csv.reader(text.splitlines(), dialect="excel-tab" if tsv else "excel")
    try:
        return list(reader)
    except csv.Error as error:  # e.g. a field past csv's 131,072-character limit
        raise ValueError(
            f"{manifest} line {reader.line_num}: not a readable row ({error})"
        ) from None


def _refuse_bad_clips(where, problems, count):
    if problems:
        listing = "\n  ".join(problems[:MAX_LISTED_PROBLEMS])
        raise ValueError(f"{where}: {len(problems)} of {count} clips cannot be used:\n  {listing}")


def check_clips(pairs, manifest):
    """Decode every clip of ``pairs`` once, so a broken one is refused before training."""
    problems = []
    for path, _ in pairs:
        try:
            decode_audio(path)
        except ValueError as error:
            problems.append(str(error))
    _refuse_bad_clips(manifest, problems, len(pairs))


def _column(header, names, manifest):
    for index, column in enumerate(header):
        if column.strip().lower() in names:
            return index
    raise ValueError(f"{manifest}: needs a column named one of {names}; header is {header}")


def read_manifest(manifest):
    """``(audio path, transcript)`` pairs from a CSV/TSV manifest with a header row.

    Paths are relative to the manifest's folder and must lie inside it (an uploaded
    manifest cannot reach other files of the machine). Rows whose file is missing or
    outside, or whose text is empty, are errors, listed together.
    """
    manifest = Path(manifest)
    if not manifest.is_file():
        raise ValueError(f"{manifest}: no such manifest (a CSV/TSV with path and text columns)")
    rows = _rows(manifest)
    if len(rows) < 2:
        raise ValueError(f"{manifest}: no rows after the header")
    path_index = _column(rows[0], _PATH_COLUMNS, manifest)
    text_index = _column(rows[0], _TEXT_COLUMNS, manifest)
    pairs, problems = [], []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) <= max(path_index, text_index):
            problems.append(f"line {number}: too few columns")
            continue
        path = (manifest.parent / row[path_index].strip()).resolve()
        if not is_inside(path, manifest.parent):
            problems.append(f"line {number}: {row[path_index].strip()} is outside its folder")
        elif not path.is_file():
            problems.append(f"line {number}: {path} does not exist")
        elif not row[text_index].strip():
            problems.append(f"line {number}: empty transcript")
        else:
            pairs.append((path, row[text_index].strip()))
    if problems:
        raise ValueError(f"{manifest}: {len(problems)} bad rows:\n  " + "\n  ".join(problems[:20]))
    return pairs


@dataclass
class ClipData:
    """Fixed-length 16 kHz clips with integer labels and class names (keyword spotting)."""

    clips: np.ndarray  # (N, samples) float32
    labels: np.ndarray  # (N,) int32
    class_names: list


def fit_length(audio, length):
    """Pad with silence or cut to exactly ``length`` samples."""
    return np.pad(audio, (0, max(0, length - len(audio))))[:length].astype("float32")


def load_clip_folder(root, seconds):
    """A class-per-folder directory of audio clips → ``ClipData`` of ``seconds`` each."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: not a directory (expected one sub-folder of clips per class)")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files = {
        c.name: sorted(f for f in c.rglob("*") if f.suffix.lower() in AUDIO_EXTENSIONS)
        for c in classes
    }
    if len(files) < 2 or any(not paths for paths in files.values()):
        empty = [name for name, paths in files.items() if not paths]
        raise ValueError(
            f"{root}: needs 2+ class folders with clips; found {list(files)}, empty: {empty}"
        )
    length = int(seconds * 16000)
    clips, labels, problems = [], [], []
    for label, paths in enumerate(files.values()):
        for path in paths:
            try:
                clips.append(fit_length(decode_audio(path), length))
            except ValueError as error:
                problems.append(str(error))
                continue
            labels.append(label)
    _refuse_bad_clips(root, problems, len(problems) + len(labels))
    return ClipData(np.stack(clips), np.asarray(labels, "int32"), list(files))


def load_tfds_clips(name, seconds, split="train", max_per_class=None):
    """A TFDS audio-classification set (e.g. ``speech_commands``) → ``ClipData``."""
    import tensorflow_datasets as tfds

    dataset, info = tfds_load(
        name, split, otherwise="a folder of clips per class", as_supervised=True
    )
    names = list(info.features["label"].names)
    length, counts = int(seconds * 16000), np.zeros(len(names), int)
    clips, labels = [], []
    for audio, label in tfds.as_numpy(dataset):
        if max_per_class is not None and counts[label] >= max_per_class:
            continue
        counts[label] += 1
        samples = audio.astype("float32") / (32768.0 if audio.dtype.kind == "i" else 1.0)
        clips.append(fit_length(samples, length))
        labels.append(label)
    return ClipData(np.stack(clips), np.asarray(labels, "int32"), names)


def write_clip_folder(data, root):
    """Write ``ClipData`` as a class-per-folder WAV dataset, as ``load_clip_folder`` reads
    it (tests, demos); returns ``root``."""
    root = Path(root)
    for index, (clip, label) in enumerate(zip(data.clips, data.labels)):
        folder = root / data.class_names[label]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index:03d}.wav").write_bytes(encode_wav(clip))
    return root


def synthetic_tones(num_per_class=6, seconds=1.0, seed=0):
    """Three classes of noisy tones (low, high, chirp) for tests."""
    rng = np.random.default_rng(seed)
    time = np.arange(int(seconds * 16000)) / 16000
    shapes = [
        lambda: np.sin(2 * np.pi * 300 * time),
        lambda: np.sin(2 * np.pi * 2000 * time),
        lambda: np.sin(2 * np.pi * (300 + 1500 * time) * time),
    ]
    clips = [
        0.3 * shape() + 0.02 * rng.normal(size=time.shape)
        for shape in shapes
        for _ in range(num_per_class)
    ]
    labels = np.repeat(np.arange(3), num_per_class).astype("int32")
    return ClipData(np.stack(clips).astype("float32"), labels, ["low", "high", "chirp"])
