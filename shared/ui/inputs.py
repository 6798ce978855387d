"""One input widget per modality for the shared pages, and the upload limits, set deliberately.

| modality | limit  | why |
|----------|--------|-----|
| image    | 20 MB  | a full-resolution phone photo is under 15 MB; decoded images are capped too |
| audio    | 25 MB  | ten minutes of 16 kHz WAV, far more as FLAC/OGG/MP3 |
| text     | 1 MB   | translation reads sentences, not books (text areas: 5,000 characters) |
| zip      | 200 MB | a training set; also ``server.maxUploadSize`` (the largest of these) |

Each limit is given to the uploader (the browser refuses larger files) and checked again on
the server with an ``st.error`` that names the limit, because uploads can skip the browser.
"""

import streamlit as st

from shared.sources import looks_like_text
from shared.ui import audio as audio_ui
from shared.ui import widgets
from shared.ui.samples import IMAGE_SAMPLES, audio_samples, text_samples

UPLOAD_LIMITS_MB = {
    "image": widgets.MAX_UPLOAD_MB,
    "audio": audio_ui.MAX_UPLOAD_MB,
    "text": 1,
    "zip": 200,
}
MAX_TEXT_CHARS = 5000
MODALITY_NAMES = {"image": "an image", "audio": "a recording", "text": "a text"}


def too_large(uploaded, modality, hint):
    """True (after an ``st.error`` naming the limit) when ``uploaded`` is over its limit."""
    limit_mb = UPLOAD_LIMITS_MB[modality]
    if uploaded.size <= limit_mb * 1024 * 1024:
        return False
    widgets.show_error(
        f"{uploaded.name} is {uploaded.size / 2**20:.1f} MB; the limit for {modality} "
        f"uploads is {limit_mb} MB.",
        hint=hint,
    )
    return True


def decode_text_upload(uploaded):
    """The text of an uploaded .txt file, or None after an ``st.error`` saying why."""
    if uploaded is None or too_large(uploaded, "text", "Upload a shorter text file."):
        return None
    data = uploaded.getvalue()
    if not data.strip():
        widgets.show_error(f"{uploaded.name} is empty.", hint="Upload a file with some text.")
        return None
    if not looks_like_text(data):
        widgets.show_error(
            f"{uploaded.name} is not a text file (binary data).",
            hint="Upload a plain UTF-8 .txt file, or type the text.",
        )
        return None
    text = data.decode("utf-8", errors="replace")
    if len(text) > MAX_TEXT_CHARS:
        widgets.show_error(
            f"{uploaded.name} has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}.",
            hint="Split it and translate it in parts.",
        )
        return None
    return text


def text_input(key, *, default="Sample"):
    """Type, upload a .txt file or pick a sample sentence; ``(text or None, source name)``."""
    samples = text_samples()
    sources = ("Type", "Upload", "Sample")
    source = st.radio(
        "Text source", sources, index=sources.index(default), horizontal=True, key=f"{key}_source"
    )
    if source == "Type":
        text = st.text_area("Text", max_chars=MAX_TEXT_CHARS, key=f"{key}_text")
        return (text.strip() or None), ("typed text" if text.strip() else None)
    if source == "Upload":
        uploaded = st.file_uploader(
            "Upload a text file",
            type=["txt"],
            max_upload_size=UPLOAD_LIMITS_MB["text"],
            key=f"{key}_upload",
            help=f"Plain UTF-8 text, up to {UPLOAD_LIMITS_MB['text']} MB "
            f"and {MAX_TEXT_CHARS:,} characters.",
        )
        if uploaded is None:
            return None, None
        return decode_text_upload(uploaded), uploaded.name
    name = st.selectbox("Sample text", list(samples), key=f"{key}_sample")
    return samples[name](), name


def modality_input(modality, key):
    """The input widget of ``modality`` ("image", "audio" or "text"): ``(value, name)``."""
    if modality == "image":
        return widgets.image_input(key, IMAGE_SAMPLES)
    if modality == "audio":
        return audio_ui.audio_input(key, audio_samples())
    if modality == "text":
        return text_input(key)
    raise ValueError(f"no input widget for modality {modality!r}")
