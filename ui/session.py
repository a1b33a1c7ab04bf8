"""Where the Compare state lives during a session, how it reaches the URL, and when a closed
tab's session is let go: one place only."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import threading
import time
from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st
from streamlit.logger import get_logger
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from .state import CompareState, from_query, to_query

_LOGGER = get_logger(__name__)
STATE_KEY = "compare.state"
OPENED_KEY = "compare.opened"  # the state as the link opened it, with the link's notices


def is_new() -> bool:
    """True on a session's first run, before `load` has read the URL."""
    return STATE_KEY not in st.session_state


def load() -> CompareState:
    """This session's state; on its first run, the state the URL describes."""
    _reaper().track()
    if STATE_KEY not in st.session_state:
        query = {key: st.query_params.get_all(key) for key in st.query_params}
        st.session_state[STATE_KEY] = st.session_state[OPENED_KEY] = from_query(query)
    return st.session_state[STATE_KEY]


def sent_by_browser(key: str) -> bool:
    """True when the browser sent a value for the widget keyed `key` with this run. A tab that
    reconnects to a new session (after a server restart) sends every value it shows: the one it
    changed first is not in the URL yet, and must not be overwritten by the URL's."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return False
    suffix = f"-{key}"
    return any(state.id.endswith(suffix) for state in ctx.session_state.get_widget_states())


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


# -- closed tabs -----------------------------------------------------------------------------
REAP_AFTER = 45.0  # s a closed tab's session waits for its browser to reconnect (a blip, a laptop lid)
REAP_EVERY = 15.0  # s between looks


class _Reaper:
    """Shuts down the sessions whose tab has gone, `REAP_AFTER` seconds after it went.

    Streamlit keeps a disconnected session for `server.disconnectedSessionTTL` so that its
    browser can reconnect, but lets it go only when its session store is next written (another
    tab closing): after a lecture, when every tab closes within a minute and none opens, about
    2 MB per student stayed in the server for good, and an expired session is never shut down
    (its download files stay in the media store). This closes each one through the runtime's
    own `close_session` (session state, media files, session caches), on the runtime's event
    loop as that call requires, then gives the freed heap back to the system. Nothing is lost
    that the URL does not restore: a reconnect after that opens a new session from the link.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.loop = runtime.stopped.get_loop()  # the runtime's event loop (`stopped` is its future)
        self.gone_since: dict[str, float | None] = {}  # session id -> when its tab went (None: open)
        self.lock = threading.Lock()
        threading.Thread(target=self._watch, name="descent-lab-session-reaper", daemon=True).start()

    def track(self) -> None:
        """Watch the session running this script."""
        ctx = get_script_run_ctx(suppress_warning=True)
        if ctx is not None:
            with self.lock:
                self.gone_since.setdefault(ctx.session_id, None)

    def _watch(self) -> None:
        while not self.loop.is_closed():
            time.sleep(REAP_EVERY)
            try:
                closed = asyncio.run_coroutine_threadsafe(self._reap(), self.loop).result(timeout=60)
            except Exception:  # noqa: BLE001 - the server stopping, or its internals changed: stop quietly
                _LOGGER.debug("session reaper stopped", exc_info=True)
                return
            if closed:
                _LOGGER.info("closed %d sessions whose tab had gone for %.0f s", closed, REAP_AFTER)
                gc.collect()
                _give_back_heap()

    async def _reap(self) -> int:
        now, closed = time.monotonic(), 0
        with self.lock:
            for session_id, gone in list(self.gone_since.items()):
                if self.runtime.is_active_session(session_id):
                    self.gone_since[session_id] = None
                elif gone is None:
                    self.gone_since[session_id] = now
                elif now - gone >= REAP_AFTER:
                    self.runtime.close_session(session_id)
                    del self.gone_since[session_id]
                    closed += 1
        return closed


class _NoReaper:
    """Outside a served app (AppTest, a bare import) there are no tabs to close."""

    def track(self) -> None:
        pass


@st.cache_resource(show_spinner=False)
def _reaper() -> _Reaper | _NoReaper:
    try:
        runtime = Runtime.instance()
        reaper = _Reaper(runtime)
    except RuntimeError:  # no runtime, or not started
        return _NoReaper()
    _tune_collector()
    return reaper


# Python's cyclic garbage collector, as a server with many sessions needs it. By default it runs a
# young collection every 700 net allocations (several per rerun here) and now and then a full one
# that walks every object in the process (the libraries' 200,000 and more: 0.1 s a time). A class of
# 30 students for 60 s (bench.load) spent 1.6 s of the server's CPU in it, about 7 ms an action;
# with fewer, larger young collections and the libraries' objects frozen out of the full ones, 0.6 s.
# Garbage still goes as before: reference counting frees nearly all of it at once, and the reaper
# collects after closing sessions.
YOUNG_COLLECTION_EVERY = 10_000  # net allocations (Python's default: 700)
OLDER_COLLECTION_EVERY = 20  # collections of the generation below (default: 10)


def _tune_collector() -> None:
    """Fewer collections, and none that walks the objects loaded before the first session ran (the
    libraries, the app's modules): `gc.freeze` moves them out of the collector's sight for good. It
    runs once, on the first session's first run: that one session's own cycles are frozen with them
    (they stay if it closes: one session's worth, once)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, OLDER_COLLECTION_EVERY, OLDER_COLLECTION_EVERY)


def _give_back_heap() -> None:
    """Return freed heap pages to the system (glibc keeps them otherwise); elsewhere a no-op."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
