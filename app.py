"""Descent Lab: the Streamlit entry point. Builds the navigation and the sidebar every page shares."""

import streamlit as st

import chart

st.set_page_config(page_title="Descent Lab", page_icon="⛰️", layout="wide")
# Less empty space above the page: on a 1280×720 projector the chart and its controls fit.
st.html("<style>[data-testid='stMainBlockContainer'] { padding-top: 4rem; padding-bottom: 2rem; }"
        "[data-testid='stSidebarHeader'] { height: 2rem; }</style>")

PAGES = [
    # Each page in a folder of its own under pages/: with a page script directly in pages/,
    # Streamlit runs a fresh server's first script the old way (pages/*.py as the pages, app.py
    # skipped), so a first visitor opening /lecture got the page without this shell.
    # The default page is served at / (Streamlit drops a default page's url_path from the URL), so
    # /compare gets the same page under a hidden entry: a link or bookmark to /compare opens Compare
    # instead of Streamlit's "page not found" dialog. `url_path="home"` only names the default
    # internally (its hash); /home is not a path anyone sees.
    st.Page("pages/compare/page.py", title="Compare", icon=":material/compare_arrows:", url_path="home",
            default=True),
    st.Page("pages/compare/page.py", title="Compare", icon=":material/compare_arrows:", url_path="compare",
            visibility="hidden"),
    st.Page("pages/lecture/page.py", title="Lecture", icon=":material/school:", url_path="lecture"),
    st.Page("pages/explore/page.py", title="Explore", icon=":material/grid_on:", url_path="explore"),
]

with st.sidebar:
    st.title("Descent Lab")
    st.caption("How gradient-descent optimizers move on 2D loss landscapes. Paths are torch.optim's, "
               "bit for bit (its single-trajectory kernels, float64). The URL holds the whole state.")

navigation = st.navigation(PAGES)

# A new visitor's first chart is sent alone, half a second ahead of the rest of the page, so the browser
# draws it first (chart.head_start; README, Benchmarks: 0.84x the floor against 1.03x without).
first_run = "_app.ran" not in st.session_state
st.session_state["_app.ran"] = True
with chart.head_start(enabled=first_run):
    navigation.run()
