"""Pairs files as they arrive: other encodings, giant fields, spreadsheet exports. Each is
read, or refused with one line naming the file and where in it the problem is."""

import pytest

from apps.translate.data import load_pairs, read_parallel
from apps.translate.evaluate import main as evaluate_main


def test_latin1_pairs_file_names_the_file_line_and_byte(tmp_path):
    path = tmp_path / "pairs.tsv"
    data = "source\ttarget\nthe cat\to gato\ncoffee\tcaf\xe9\n".encode("latin-1")
    path.write_bytes(data)
    with pytest.raises(ValueError) as caught:
        read_parallel(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not UTF-8 text") and "\n" not in message
    assert "line 3" in message and f"byte {data.index(0xE9)} " in message and "0xe9" in message


def test_a_field_past_the_csv_limit_names_the_file_and_line(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("the cat,o gato\n" + "a" * 200_000 + ",b\nthe dog,o cão\n", encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_pairs(str(path))
    message = str(caught.value)
    assert message.startswith(f"{path} line 2: ") and "\n" not in message


def test_spreadsheet_export_with_bom_crlf_and_quoted_newlines(tmp_path):
    path = tmp_path / "pairs.csv"
    text = 'source,target\r\n"Hello,\nworld",Olá mundo\r\nthe cat,o gato\r\n'
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert read_parallel(path) == [("Hello,\nworld", "Olá mundo"), ("the cat", "o gato")]


def test_evaluate_cli_refuses_a_latin1_file_in_one_line(tmp_path, capsys):
    path = tmp_path / "pairs.tsv"
    path.write_bytes("caf\xe9\tcoffee\n".encode("latin-1"))
    assert evaluate_main(["--data", str(path), "--model", "bundled:none"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {path}: not UTF-8") and error.count("\n") == 1
