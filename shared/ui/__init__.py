"""Streamlit helpers shared by every app page (the only shared code that imports streamlit)."""
