"""The predict CLI and Predictor on the bundled EN→PT model."""

import json
import typing

import pytest

from apps.translate.config import PredictConfig
from apps.translate.predict import main
from apps.translate.predictor import DIRECTION_MODELS


def test_cli_json_prints_translation(capsys):
    assert main(["Good morning, my friend.", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip())
    assert result["translation"].startswith("Bom dia")
    assert result["model"] == "bundled:bergamot_en_pt" and result["latency_ms"] > 0
    assert result["direction"] == "en-pt"


def test_cli_file_and_direction(tmp_path, capsys):
    path = tmp_path / "texto.txt"
    path.write_text("Eu gosto de café.\n\nO livro está na mesa.", encoding="utf-8")
    assert main(["--file", str(path), "--direction", "pt-en"]) == 0
    out = capsys.readouterr().out
    assert "coffee" in out and "book" in out and "\n\n" in out


def test_cli_json_names_the_file_each_text_came_from(tmp_path, capsys):
    path = tmp_path / "texto.txt"
    path.write_text("O gato dorme.", encoding="utf-8")
    assert main(["Obrigado.", "--file", str(path), "--direction", "pt-en", "--json"]) == 0
    typed, read = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (typed["source"], typed["source_text"]) == (None, "Obrigado.")
    assert (read["source"], read["source_text"]) == (str(path), "O gato dorme.")
    assert "cat" in read["translation"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["   "], "no text"), ([], "give the text"), (["hi", "--model", "nope:x"], "Unknown model")],
)
def test_cli_bad_input_is_one_line_error(argv, message, capsys):
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_cli_directions_are_the_bundled_pairs():
    choices = typing.get_args(typing.get_type_hints(PredictConfig)["direction"])
    assert sorted(choices) == sorted(DIRECTION_MODELS)
    assert DIRECTION_MODELS[PredictConfig().direction] == "bundled:bergamot_en_pt"


def test_cli_reads_a_config_file(tmp_path, capsys):
    settings = tmp_path / "settings.yaml"
    settings.write_text("texts: [Obrigado.]\ndirection: pt-en\njson: true\n", encoding="utf-8")
    assert main(["--config", str(settings)]) == 0
    (result,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert result["direction"] == "pt-en" and "thank" in result["translation"].lower()


def test_cli_non_utf8_file(tmp_path, capsys):
    (tmp_path / "latin1.txt").write_bytes("café com leite".encode("latin-1"))
    assert main(["--file", str(tmp_path / "latin1.txt")]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_long_text_is_translated_sentence_by_sentence(bundled_en_pt):
    sentences = [f"The train number {i} leaves at noon." for i in range(60)]
    result = bundled_en_pt.predict(" ".join(sentences))
    assert len(result.sentences) == 60
    assert all("trem" in s["translation"].lower() for s in result.sentences)
    with pytest.raises(ValueError, match="limit"):
        bundled_en_pt.predict("word " * 20_000)
