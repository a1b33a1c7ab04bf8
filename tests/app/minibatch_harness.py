"""A tiny page holding only the mini-batch part (until the Explore page wires it in)."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:  # `streamlit run tests/app/minibatch_harness.py` puts only this folder on the path
    sys.path.insert(0, ROOT)

import streamlit as st  # noqa: E402

from ui import minibatch  # noqa: E402

st.set_page_config(page_title="Mini-batch SGD", layout="wide")
if st.session_state.get("harness.elsewhere"):  # a test's stand-in for another page of the app
    st.write("another page")
else:
    minibatch.show()
