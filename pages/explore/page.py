"""Explore: thousands of runs at once. A basin map, a hyperparameter sweep you can zoom into, fair
learning-rate tuning and the schedules gallery; the part in the URL with everything else.

Read top to bottom: the state (the URL's on a session's first run), the sidebar (landscape, optimizer,
budget), the part selector, the part (`ui.explore.RENDERERS`: its controls, its cached computation and its
figures), then the state goes to the URL. A basin click opens Compare from here.
"""

import streamlit as st

from ui import explore

state = explore.load()
with st.sidebar:
    state, landscape = explore.sidebar(state)
state = explore.part_selector(state)
explore.link_notices(state)
state = explore.RENDERERS[state.part](state, landscape)
explore.save(state)
explore.open_on_compare()
