"""Text for Streamlit's Markdown, without importing Streamlit (the apps' view helpers use it,
and the apps run where Streamlit is not installed)."""

import re

MARKDOWN_SPECIALS = re.compile(r"([\\`*_~$\[\]<>#|])")


def escape_markdown(text):
    """``text`` shown literally by Streamlit's Markdown (``$`` would start LaTeX)."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", text)
