"""Tests for shared.predict_cli: batches padded to one shape, per-input errors, outputs."""

import csv
import io
import itertools
import json
import sys
from dataclasses import asdict, dataclass, field

import pytest

from shared import cli, predict_cli


@dataclass
class Guess:
    value: int
    model: str
    latency_ms: float
    source: str | None = None

    def to_dict(self):
        return asdict(self)


OUTPUT = predict_cli.Output(
    describe=lambda guess: f"{guess.source}: {guess.value}",
    csv_columns=("source", "value", "latency_ms", "error"),
    csv_rows=lambda guess: [{"source": guess.source, "value": guess.value, "latency_ms": 1}],
)


class Model:
    """Doubles the numbers written in the input "files"; records every batch it sees."""

    def __init__(self):
        self.batches = []

    def decode(self, path):
        if path.startswith("bad"):
            raise ValueError(f"{path}: not a number")
        return int(path.split("-")[-1])

    def predict(self, items, sources):
        self.batches.append((list(items), list(sources)))
        return [Guess(2 * item, "toy", 0.0, source) for item, source in zip(items, sources)]


def run(paths, mode="json", batch_size=4, **options):
    model = Model()
    code = predict_cli.run(
        paths,
        decode=model.decode,
        predict=model.predict,
        output=OUTPUT,
        mode=mode,
        batch_size=batch_size,
        **options,
    )
    return code, model


def test_the_last_batch_is_padded_and_only_real_items_are_reported(capsys):
    code, model = run([f"n-{index}" for index in range(6)], batch_size=4)
    assert code == 0
    assert [len(items) for items, _ in model.batches] == [4, 4]  # one shape for the model
    assert model.batches[1] == ([4, 5, 5, 5], ["n-4", "n-5", None, None])
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["value"] for line in lines] == [0, 2, 4, 6, 8, 10]


def test_decoding_runs_at_most_one_batch_ahead(capsys):
    model, decoded, seen = Model(), [], []

    def decode(path):
        decoded.append(path)
        return model.decode(path)

    def predict(items, sources):
        seen.append(len(decoded))
        return model.predict(items, sources)

    paths = [f"n-{index}" for index in range(10)]
    predict_cli.run(paths, decode=decode, predict=predict, output=OUTPUT, batch_size=2)
    assert all(count <= 2 * (batch + 2) for batch, count in enumerate(seen))
    assert decoded == paths and len(seen) == 5


def test_latency_is_the_batch_time_per_real_item(monkeypatch, capsys):
    ticks = itertools.chain([10.0, 13.0], itertools.repeat(13.0))  # 3 s for 3 real items
    monkeypatch.setattr(predict_cli.time, "perf_counter", lambda: next(ticks))
    run(["n-1", "n-2", "n-3"], batch_size=4)
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["latency_ms"] for line in lines] == [1000.0] * 3


def test_an_unreadable_input_gets_an_error_record_and_the_others_go_on(capsys):
    code, model = run(["n-1", "bad-file", "n-3"], batch_size=2)
    assert code == 1
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert records[0]["value"] == 2 and records[2]["value"] == 6
    assert records[1] == {"source": "bad-file", "error": "bad-file: not a number"}
    assert captured.err == "error: bad-file: not a number\n"
    assert [items for items, _ in model.batches] == [[1, 1], [3, 3]]


def test_text_mode_prints_descriptions_and_errors_on_stderr(capsys):
    code, _ = run(["n-1", "bad-file"], mode="text")
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == "n-1: 2\n"
    assert captured.err == "error: bad-file: not a number\n"


def test_csv_has_a_header_and_one_row_per_input(capsys):
    code, _ = run(["n-1", "bad-file", "n-3"], mode="csv", batch_size=2)
    assert code == 1
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["source"] for row in rows] == ["n-1", "bad-file", "n-3"]
    assert [row["value"] for row in rows] == ["2", "", "6"]
    assert rows[1]["error"] == "bad-file: not a number" and rows[0]["error"] == ""


def test_a_failing_prediction_fails_its_batch_only(capsys):
    model = Model()

    def predict(items, sources):
        if 3 in items:
            raise ValueError("the model cannot take this one")
        return model.predict(items, sources)

    code = predict_cli.run(
        ["n-1", "n-2", "n-3"],
        decode=model.decode,
        predict=predict,
        output=OUTPUT,
        mode="json",
        batch_size=2,
    )
    assert code == 1
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line).get("error") for line in lines] == [
        None,
        None,
        "the model cannot take this one",
    ]


def test_an_error_in_after_fails_that_input(capsys):
    def after(item, result):
        if item == 2:
            raise OSError("disk full")

    code, _ = run(["n-1", "n-2"], after=after)
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1 and records[1] == {"source": "n-2", "error": "disk full"}


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    ("count", "shown"), [(predict_cli.PROGRESS_MIN_INPUTS + 1, True), (3, False)]
)
def test_progress_on_a_terminal_for_many_inputs_and_stdout_stays_json(monkeypatch, count, shown):
    stdout, stderr = io.StringIO(), Terminal()
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    assert run([f"n-{index}" for index in range(count)])[0] == 0
    assert [json.loads(line)["value"] for line in stdout.getvalue().splitlines()] == [
        2 * index for index in range(count)
    ]
    assert (f"{count}/{count}" in stderr.getvalue()) is shown


def test_batch_size_must_be_positive():
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        run(["n-1"], batch_size=0)


@dataclass(frozen=True)
class ToyPredictConfig(predict_cli.PredictOptions):
    inputs: tuple[str, ...] = predict_cli.inputs_field(metavar="IMAGE", kind="image")
    top_k: int = field(default=5, metadata={"help": "classes per image"})


def test_the_shared_predict_flags_and_output_mode(capsys):
    config, _ = cli.parse_config(ToyPredictConfig, ["a.png", "photos", "--csv", "--top-k", "2"])
    assert config.inputs == ("a.png", "photos") and config.top_k == 2
    assert (config.model, config.runs_dir) == (None, None)
    assert predict_cli.output_mode(config) == "csv"
    assert predict_cli.output_mode(ToyPredictConfig(inputs=("a",), json=True)) == "json"
    assert predict_cli.output_mode(ToyPredictConfig(inputs=("a",))) == "text"
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_config(ToyPredictConfig, ["a.png", "--json", "--csv"])
    assert exit_info.value.code == 2
    assert "argument --csv: not allowed with argument --json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.parse_config(ToyPredictConfig, ["--help"])
    usage = " ".join(capsys.readouterr().out.split())
    assert "[--model MODEL] [--json | --csv] [--runs-dir RUNS_DIR]" in usage
    assert "IMAGE [IMAGE ...]" in usage and "quoted globs ('photos/*.jpg')" in usage
