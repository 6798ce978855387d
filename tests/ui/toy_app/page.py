"""The toy app's page: reverse a sample text."""

import streamlit as st

from tests.ui.toy_app import SPEC

st.title(SPEC.title)
name = st.selectbox("Sample", list(SPEC.samples), key=SPEC.sample_key)
result = SPEC.predictor.load().predict(SPEC.samples[name](), source=name)
st.markdown(f"Reversed: {result.text}")
