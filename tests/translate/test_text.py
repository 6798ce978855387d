"""Bad and awkward text input: clear errors or correct output, nothing lost."""

import pytest

from apps.translate.text import (
    MAX_CHARACTERS,
    MAX_SENTENCE_CHARACTERS,
    TextError,
    clean_text,
    decode_text_bytes,
    split_sentences,
)


def _rebuild(pieces):
    return "".join(sentence + separator for sentence, separator in pieces)


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t ", "\x00\x01\x7f", "\u200b\u200e"])
def test_empty_or_invisible_text_is_refused(text):
    with pytest.raises(TextError, match="no text"):
        clean_text(text)


def test_too_long_text_names_the_limit():
    with pytest.raises(TextError, match=f"{MAX_CHARACTERS:,}"):
        clean_text("word " * 20_000)  # 100k characters
    assert len(clean_text("word " * 20_000, max_characters=200_000)) == 100_000


@pytest.mark.parametrize("value", [None, 42, b"bytes", ["a list"]])
def test_non_text_is_refused(value):
    with pytest.raises(TextError, match="expected text"):
        clean_text(value)


def test_control_characters_are_dropped_and_lines_kept():
    assert clean_text("Hello\x00 wor\x07ld.\r\nBye\tnow.") == "Hello world.\nBye now."
    assert clean_text("cafe\u0301") == "café"  # NFC


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe\x00h\x00i", b"caf\xe9", bytes(range(128, 256)), b"\x89PNG\r\n\x1a\n\x00\x00"],
)
def test_non_utf8_uploads_are_refused(data):
    with pytest.raises(TextError, match="not UTF-8"):
        decode_text_bytes(data, name="notes.txt")


def test_utf8_with_bom_and_empty_upload():
    assert decode_text_bytes("\ufeffOlá".encode("utf-8")) == "Olá"
    with pytest.raises(TextError, match="empty"):
        decode_text_bytes(b"")


def test_sentences_split_keeping_abbreviations_and_paragraphs():
    text = 'Dr. Smith arrived at 9 a.m. today. "Is it late?" she asked.\n\n'
    text += "New paragraph! E.g. this one."
    pieces = split_sentences(text)
    assert [sentence for sentence, _ in pieces] == [
        "Dr. Smith arrived at 9 a.m. today.",
        '"Is it late?" she asked.',
        "New paragraph!",
        "E.g. this one.",
    ]
    assert _rebuild(pieces) == text


def test_overlong_sentences_are_cut_without_losing_words():
    sentence = ", ".join(f"item number {i}" for i in range(200)) + "."
    pieces = split_sentences(sentence)
    assert len(pieces) > 1
    assert all(len(piece) <= MAX_SENTENCE_CHARACTERS for piece, _ in pieces)
    assert _rebuild(pieces).split() == sentence.split()
    unbroken = "x" * (3 * MAX_SENTENCE_CHARACTERS)
    assert "".join(piece for piece, _ in split_sentences(unbroken)) == unbroken
