"""Descent Lab: the Streamlit entry point. Builds the navigation and the sidebar every page shares."""

import streamlit as st

st.set_page_config(page_title="Descent Lab", page_icon="⛰️", layout="wide")
# Less empty space above the page: on a 1280×720 projector the chart and its controls fit.
st.html("<style>[data-testid='stMainBlockContainer'] { padding-top: 4rem; padding-bottom: 2rem; }"
        "[data-testid='stSidebarHeader'] { height: 2rem; }</style>")

PAGES = [
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:", default=True),
    # The Lecture and Explore pages join this list.
]

with st.sidebar:
    st.title("Descent Lab")
    st.caption("How gradient-descent optimizers move on 2D loss landscapes. Paths are torch.optim's, "
               "bit for bit (its single-trajectory kernels, float64). The URL holds the whole state.")

navigation = st.navigation(PAGES)

navigation.run()
