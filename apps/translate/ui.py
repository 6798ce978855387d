"""How Compare and Chains show a translation, and the texts its page offers."""

import functools

from shared.ui.widgets import escape_markdown

SAMPLES_BY_LANGUAGE = {
    "en": {
        "Travel": "The train to Lisbon leaves at nine in the morning. Do you have a ticket?",
        "A cat": "The cat is sleeping on the sofa.",
        "Two paragraphs": "The museum opens at ten. It has many paintings.\n\nChildren do not pay.",
    },
    "pt": {
        "Viagem": "O trem para Lisboa sai às nove da manhã. Você tem um bilhete?",
        "Um gato": "O gato está dormindo no sofá.",
        "Dois parágrafos": "O museu abre às dez. Ele tem muitas pinturas.\n\nCrianças não pagam.",
    },
}

SAMPLES = {name: functools.partial(str, text) for name, text in SAMPLES_BY_LANGUAGE["en"].items()}


def render_compact(result, text):
    """The translation in large type."""
    import streamlit as st

    st.markdown(f"### {escape_markdown(result.translation)}")


def summary(result):
    """The translation."""
    return result.translation or "—"
