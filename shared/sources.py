"""Reading user inputs (bytes, paths, uploaded files) safely, shared by the decoders."""

import os
from pathlib import Path


def source_name(source, default):
    """A name for error messages: the path, the upload's ``.name``, else ``default``."""
    if isinstance(source, (str, os.PathLike)):
        return os.fsdecode(source)
    name = getattr(source, "name", None)
    return str(name) if name else default


def read_source_bytes(source, name, max_bytes, make_error, kind):
    """Return the raw bytes of ``source``, reading at most ``max_bytes + 1`` of a file.

    Args:
        source: bytes, a path, or a binary file-like object (e.g. Streamlit's UploadedFile).
        name: the name used in messages.
        max_bytes: size limit; a larger path is refused before it is read.
        make_error: ``(name, problem) -> exception`` of the calling decoder.
        kind: "image", "audio" ... for messages.

    Raises:
        The decoder's error for unreadable inputs; ``TypeError`` for a wrong source type.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    try:
        if isinstance(source, (str, os.PathLike)):
            if os.path.getsize(source) > max_bytes:
                raise make_error(name, f"the file is larger than the limit of {max_bytes:,} bytes")
            with open(source, "rb") as file:
                return file.read(max_bytes + 1)
        getvalue = getattr(source, "getvalue", None)  # e.g. Streamlit's UploadedFile.
        data = getvalue() if callable(getvalue) else source.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise make_error(name, "the file does not exist") from exc
    except IsADirectoryError as exc:
        raise make_error(name, f"this is a directory, not an {kind} file") from exc
    except OSError as exc:
        raise make_error(name, f"the file cannot be read ({exc})") from exc
    except AttributeError as exc:
        raise TypeError(
            f"decode_{kind} expects bytes, a path or a binary file-like object, "
            f"received {type(source).__name__}."
        ) from exc
    if not isinstance(data, (bytes, bytearray)):
        raise make_error(name, f"reading gave {type(data).__name__}, not bytes")
    return bytes(data)


def looks_like_text(data):
    """True when the first 4 KiB decode as (almost) clean UTF-8 text."""
    sample = data[:4096].decode("utf-8", errors="replace")
    allowed = {"\t", "\n", "\r", "\f"}
    bad = sum(1 for char in sample if char == "\ufffd" or (char < " " and char not in allowed))
    return bad <= len(sample) // 100


def utf8_text(path):
    """The text of a UTF-8 file (a leading byte-order mark dropped); a ValueError says where
    a file in another encoding first goes wrong."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ValueError(
            f"{path}: not UTF-8 text (byte {error.start:,} on line {line} is "
            f"{data[error.start]:#04x}); save it as UTF-8"
        ) from None


def is_inside(path, folder):
    """True when ``path``, with links and ``..`` resolved, lies inside ``folder``: what a
    dataset or model file names may not reach beyond its own folder."""
    return Path(path).resolve().is_relative_to(Path(folder).resolve())
