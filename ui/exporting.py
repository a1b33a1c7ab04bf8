"""Export buttons: files are made on demand, under a spinner, then offered by st.download_button."""

from __future__ import annotations

import streamlit as st


def export_panel(figure, runs, labels, landscape, state) -> None:
    st.caption("exports: coming")
