"""Text input for translation: decoding uploads, cleaning, limits and sentence splitting.

The models translate one sentence at a time (they were trained on sentences), so longer
texts are split into sentences, paragraph breaks kept, and overlong sentences are cut at
commas or spaces into pieces the model can take.
"""

import re
import unicodedata

MAX_CHARACTERS = 50_000
MAX_SENTENCE_CHARACTERS = 600  # longer pieces are cut at a comma or a space
ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "sra", "jr", "st", "vs", "etc", "e.g", "i.e",
    "fig", "no", "p.ex", "ex", "av", "u.s", "inc", "ltd", "co", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "a.m", "p.m",
}  # fmt: skip
_BOUNDARY = re.compile(r"(?<=[.!?…])([\"'”’)\]]*)(\s+)(?=[\"'“‘(\[¿¡]*[A-ZÀ-Ý0-9])")
_CONTROL = {"Cc", "Cf", "Co", "Cs"}


class TextError(ValueError):
    """The input is not text that can be translated (the message says why)."""


def decode_text_bytes(data, name="the file"):
    """Text of an uploaded file: UTF-8 (a BOM is fine); anything else is refused."""
    if not data:
        raise TextError(f"{name} is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TextError(
            f"{name} is not UTF-8 text (byte {error.start}): save it as UTF-8 and try again"
        ) from None


def clean_text(text, max_characters=MAX_CHARACTERS):
    """NFC-normalised text without control characters (newlines and tabs kept).

    Raises:
        TextError: not a string, empty or only whitespace, or over ``max_characters``.
    """
    if not isinstance(text, str):
        raise TextError(f"expected text, received {type(text).__name__}")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(
        " " if char == "\t" else char
        for char in text
        if char == "\n" or char == "\t" or unicodedata.category(char) not in _CONTROL
    )
    if not text.strip():
        raise TextError("there is no text to translate (empty or only whitespace)")
    if len(text) > max_characters:
        raise TextError(
            f"the text has {len(text):,} characters; the limit is {max_characters:,}. "
            "Split it into smaller parts and translate them one at a time"
        )
    return text


def _is_abbreviation(before):
    word = before.rsplit(None, 1)[-1] if before.strip() else ""
    word = word.lower().rstrip(".").lstrip("(\"'“")
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _sentences_of_line(line):
    pieces, start = [], 0
    for match in _BOUNDARY.finditer(line):
        end = match.start(2)
        if _is_abbreviation(line[start:end].rstrip("\"'”’)]")):
            continue
        pieces.append((line[start:end], match.group(2)))
        start = match.end(2)
    pieces.append((line[start:], ""))
    return pieces


def _cut(sentence, limit=MAX_SENTENCE_CHARACTERS):
    """Pieces of at most ``limit`` characters, cut after a comma or at a space."""
    pieces = []
    while len(sentence) > limit:
        window = sentence[:limit]
        cut = max(window.rfind(", "), window.rfind("; "))
        cut = cut + 1 if cut > limit // 3 else window.rfind(" ")
        cut = cut if cut > 0 else limit
        pieces.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    return pieces + [sentence]


def split_sentences(text):
    """[(sentence, separator after it)] covering the text; joining them rebuilds its shape.

    Empty lines and leading/trailing spaces become separators, so
    ``"".join(s + sep for s, sep in pieces)`` keeps paragraphs and line breaks.
    """
    pieces = []
    lines = text.split("\n")
    for number, line in enumerate(lines):
        newline = "\n" if number < len(lines) - 1 else ""
        if not line.strip():
            if pieces:
                pieces[-1] = (pieces[-1][0], pieces[-1][1] + line.strip(" ") + newline)
            continue
        sentences = _sentences_of_line(line.strip())
        for index, (sentence, separator) in enumerate(sentences):
            parts = _cut(sentence.strip())
            for part in parts[:-1]:
                pieces.append((part, " "))
            last = index == len(sentences) - 1
            pieces.append((parts[-1], newline if last else separator or " "))
    return pieces
