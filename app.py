"""Descent Lab: the Streamlit entry point. Builds the navigation and the sidebar every page shares."""

import streamlit as st

st.set_page_config(page_title="Descent Lab", page_icon="⛰️", layout="wide")

PAGES = [
    st.Page("pages/compare.py", title="Compare", icon="📉", default=True),
    # The Lecture and Explore pages join this list.
]

with st.sidebar:
    st.title("Descent Lab")
    st.markdown("See how gradient-descent optimizers move on 2D loss landscapes: pick a landscape, "
                "add optimizers, watch their paths beside their loss curves.")

navigation = st.navigation(PAGES)

with st.sidebar:
    st.caption("Trajectories match torch.optim to float64 round-off. The URL holds the whole state: "
               "copy it to share exactly what you see.")

navigation.run()
