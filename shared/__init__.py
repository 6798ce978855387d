"""Code shared by the TransferZoo apps (CLI and Streamlit UI)."""

from shared.quiet import quiet_tensorflow_logs

# First, before any shared module imports keras.
quiet_tensorflow_logs()
