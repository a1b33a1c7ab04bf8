"""Explore: thousands of runs at once. A basin map, a hyperparameter sweep you can zoom into, fair
learning-rate tuning, the schedules gallery and mini-batch SGD on a data landscape; the part in the URL
with everything else.

Read top to bottom: the state (the URL's on a session's first run), the sidebar (landscape, optimizer,
budget), the part selector, the part (`ui.explore.RENDERERS`: its controls, its cached computation and its
figures), then the state goes to the URL.
"""

import streamlit as st

from ui import explore

state = explore.load()
state = explore.part_selector(state)
landscape = None
if state.part not in explore.OWN_SETUP:
    with st.sidebar:
        state, landscape = explore.sidebar(state)
    explore.link_notices(state)
state = explore.RENDERERS[state.part](state, landscape)
explore.save(state)
