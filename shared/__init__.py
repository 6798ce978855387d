"""Code shared by the TransferZoo apps (CLI and Streamlit UI)."""
