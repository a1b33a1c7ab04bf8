"""Where the Compare state lives during a session, and how it reaches the URL: one place only."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from .state import CompareState, from_query, to_query

STATE_KEY = "compare.state"
OPENED_KEY = "compare.opened"  # the state as the link opened it, with the link's notices


def is_new() -> bool:
    """True on a session's first run, before `load` has read the URL."""
    return STATE_KEY not in st.session_state


def load() -> CompareState:
    """This session's state; on its first run, the state the URL describes."""
    if STATE_KEY not in st.session_state:
        query = {key: st.query_params.get_all(key) for key in st.query_params}
        st.session_state[STATE_KEY] = st.session_state[OPENED_KEY] = from_query(query)
    return st.session_state[STATE_KEY]


def link_notices(state: CompareState) -> tuple[str, ...]:
    """What the opening link said wrong, while the page still shows what it opened: the
    notices are gone at the first change."""
    opened = st.session_state.get(OPENED_KEY)
    return opened.notices if opened is not None and opened == state else ()


def save(state: CompareState) -> None:
    """Keep `state` for the next run and mirror it in the URL (only when it changed)."""
    st.session_state[STATE_KEY] = state
    query = to_query(state)
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    wanted = {key: value if isinstance(value, list) else [value] for key, value in query.items()}
    if current != wanted:
        st.query_params.from_dict(query)


def share_url(state: CompareState) -> str:
    """The address that reopens `state`, on the host the user is looking at."""
    try:
        base = st.context.url or ""
    except Exception:  # noqa: BLE001 - no browser context (AppTest): fall back to the default address
        base = ""
    parts = urlsplit(base or "http://localhost:8501/")
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(to_query(state), doseq=True), ""))
