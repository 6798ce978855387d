"""How the page, Compare and Chains show a translation, and the texts the page offers."""

import functools

from apps.translate.model import language_pair
from shared.ui.text import escape_markdown

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


def as_markdown(text):
    """``text`` shown literally by Markdown, its line breaks and paragraphs kept."""
    escaped = escape_markdown(text)
    return "\n\n".join(part.replace("\n", "  \n") for part in escaped.split("\n\n"))


def render_details(result):
    """The per-sentence table and the alternatives, in an expander."""
    import streamlit as st

    best, alternatives = result.sentence_rows(), result.alternative_rows()
    with st.expander(f"Sentence by sentence ({len(best)})"):
        st.dataframe(best, hide_index=True)
        if not any(row["score"] for row in best):
            st.caption("This model reports no scores.")
        else:
            st.caption("Score: average log-probability per token (closer to 0 is surer).")
        if len(alternatives) > len(best):
            st.markdown("**Alternatives per sentence**")
            st.dataframe(alternatives, hide_index=True)


def render_result(result, *, current=True, on_swap=None, key="translate"):
    """The translation, its metrics, the whole-text alternatives, a download and the details;
    a note when the text or the options changed since (``current`` False); a Swap button
    calling ``on_swap(result)`` when given. Widget keys start with ``key``."""
    import streamlit as st

    if not current:
        st.caption("The text or the options changed since: press Translate to update.")
    with st.container(border=True):
        st.markdown(as_markdown(result.translation))
    pair, swap_column = st.columns([4, 1])
    pair.caption(f"{language_pair(result.direction)} · {result.model}")
    if on_swap is not None:
        swap_column.button(
            "Swap",
            icon=":material/swap_horiz:",
            key=f"{key}_swap",
            on_click=on_swap,
            args=(result,),
            help="Translate the translation back, in the other direction.",
        )
    latency, sentences, speed = st.columns(3)
    latency.metric("Latency", f"{result.latency_ms:,.0f} ms")
    sentences.metric("Sentences", f"{len(result.sentences):,}")
    seconds = max(result.latency_ms / 1000, 1e-6)
    speed.metric("Characters/s", f"{len(result.source_text) / seconds:,.0f}")
    if result.alternatives:
        st.markdown("**Other translations**")
        for rank, text in enumerate(result.alternatives, start=2):
            st.markdown(f"**{rank}.** {as_markdown(text)}")
    st.download_button(
        "Download the translation (.txt)",
        data=result.translation + "\n",
        file_name=f"translation-{result.direction}.txt",
        mime="text/plain",
        on_click="ignore",
        icon=":material/download:",
        key=f"{key}_download",
    )
    render_details(result)
