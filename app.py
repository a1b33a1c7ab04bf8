"""Descent Lab: the Streamlit entry point. Builds the navigation; pages live in pages/."""

import streamlit as st

st.set_page_config(page_title="Descent Lab", page_icon="⛰️", layout="wide")

navigation = st.navigation([st.Page("pages/compare.py", title="Compare", icon="📉", default=True)])
navigation.run()
