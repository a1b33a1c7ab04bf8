"""The export panel: a file is made on demand, under a spinner, then offered by st.download_button."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import streamlit as st

import exports
from figures.animation import CLICK_TRACE
from landscapes import Landscape
from optimizers import Run

from .state import CompareState, to_query

EXPORT_KEY = "compare.export"
FAILED_KEY = "compare.export_failed"  # (format, version, reason) of the last file that could not be made
ANIMATION_FRAMES = 60  # frames in a GIF/MP4 (about 0.06 s each here, see exports.images.animation_frames)
FORMAT_KEY = "compare.export_format"
DESCRIPTIONS = {
    "png": "PNG image of the current view",
    "svg": "SVG image of the current view",
    "html": "interactive HTML (plays offline)",
    "gif": "GIF of the animation",
    "mp4": "MP4 of the animation",
    "csv": "CSV of every trajectory",
    "json": "JSON of every trajectory",
}


def makers(figure: go.Figure | Callable[[], go.Figure], runs: Sequence[Run], labels: Sequence[str],
           landscape: Landscape, step: int | None = None, animated: bool | None = None,
           click_trace: int | None = CLICK_TRACE) -> dict[str, Callable[[], bytes]]:
    """How to make each format from what the page shows. Images show the step on screen
    (`step`, as the chart last reported it; None: the last step); HTML, GIF and MP4 the
    whole animation. `figure`: the view's figure, or a function that builds it (a page that
    sends the browser plain dicts builds the exact figure only when a file is made; then
    `animated` says whether it has frames: GIF and MP4 are offered). `click_trace`: the index of
    the page's click grid, hidden in files (None: the figure has none, as the Lecture's)."""
    # A figure given is the caller's: a file gets a copy of it. A builder makes a new figure each
    # call, which the file may change as it is (copying it validated every trace and frame again:
    # 90 ms of a PNG's 210 ms of server CPU for the default comparison at 300 steps).
    build = (lambda: go.Figure(figure)) if isinstance(figure, go.Figure) else figure
    if animated is None:
        animated = bool(figure.frames) if isinstance(figure, go.Figure) else bool(build().frames)

    def for_file() -> go.Figure:
        """The figure without what only the page needs: the click grid."""
        made = build()
        if made.frames and click_trace is not None:
            made.data[click_trace].visible = False
        return made

    def still() -> go.Figure:
        whole = for_file()
        names = [frame.name for frame in whole.frames]
        if not names:
            return whole
        steps = [int(name) for name in names]
        shown = len(names) - 1 if step is None else min(range(len(steps)), key=lambda i: abs(steps[i] - step))
        return exports.still(whole, shown)

    return {
        "png": lambda: exports.to_png(still()),
        "svg": lambda: exports.to_svg(still()),
        "html": lambda: exports.to_html(for_file()),
        **({"gif": lambda: exports.to_gif(for_file(), max_frames=ANIMATION_FRAMES),
            "mp4": lambda: exports.to_mp4(for_file(), max_frames=ANIMATION_FRAMES)} if animated else {}),
        "csv": lambda: exports.to_csv(runs, labels),
        "json": lambda: exports.to_json(runs, labels, landscape=landscape.title),
    }


@st.cache_data(max_entries=64, ttl="30m", show_spinner=False)
def made_file(chosen: str, version: str, _make: Callable[[], bytes]) -> bytes:
    """The file `_make` makes, made once for every session that asks for the same format of the
    same state and step (`version`): a class exporting the view the lecturer set shares one
    render. A failure is not kept (Streamlit caches returned values only): Try again makes it anew."""
    return _make()


# What a failure's type means, said to a student (the first that matches, by class name, so this
# module needs none of the export browser's packages).
_REASONS = (
    ("TimeoutError", "the export browser did not answer in time"),
    ("BrowserClosedError", "the export browser stopped"),
    ("ChannelClosedError", "the export browser stopped"),
    ("BrokenPipeError", "the export browser stopped"),
    ("ConnectionError", "the export browser stopped"),
    ("EOFError", "the export browser stopped"),
    ("BrowserFailedError", "the export browser could not start"),
    ("ChromeNotFoundError", "no Chromium is installed for the exports (/usr/bin/chromium)"),
    ("MemoryError", "the server ran out of memory"),
)


def failure_reason(error: BaseException) -> str:
    """Why a file could not be made, in one line, never empty: what the error's kind means, then
    its own first line when it has one."""
    names = [kind.__name__ for kind in type(error).__mro__]
    meaning = next((said for name, said in _REASONS if name in names), None)
    detail = next((line.strip() for line in str(error).splitlines() if line.strip()), "")[:200]
    if meaning and detail:
        return f"{meaning}: {detail}"
    return meaning or detail or type(error).__name__


def export_panel(figure: go.Figure | Callable[[], go.Figure] | None, runs: Sequence[Run], labels: Sequence[str],
                 landscape: Landscape, state: CompareState | None, step: int | None = None,
                 animated: bool | None = None, *, view: Mapping[str, Any] | None = None,
                 click_trace: int | None = CLICK_TRACE) -> None:
    """Pick a format, make the file (spinner), download it. A made file is kept until the
    state changes, so reruns do not redo the work and a stale file is never offered.
    `figure`: the view's figure, or a function that builds it, then `animated`: whether it has
    frames (see `makers`). A file is named by `state` (Compare's), `view` (what else decides the
    figure: another page's own state) and `step`."""
    if figure is None:
        return
    available = makers(figure, runs, labels, landscape, step, animated, click_trace)
    named_by = [to_query(state) if state is not None else None, dict(view or {}), step]
    version = hashlib.sha1(json.dumps(named_by, sort_keys=True, default=str).encode()).hexdigest()
    with st.popover("Export", icon=":material/download:", width="stretch"):
        st.session_state.setdefault(FORMAT_KEY, "png")
        if st.session_state[FORMAT_KEY] not in available:
            st.session_state[FORMAT_KEY] = "png"
        chosen = st.selectbox("Format", list(available), key=FORMAT_KEY, format_func=DESCRIPTIONS.get)
        make = st.button("Make the file", key="compare.export_make", width="stretch")
        failed = st.session_state.get(FAILED_KEY)
        retried = False
        if failed and failed[:2] == (chosen, version) and not make:  # said why; one click tries again
            st.error(f"Could not make the {chosen.upper()}: {failed[2]}.", icon=":material/warning:")
            retried = make = st.button("Try again", key="compare.export_retry", icon=":material/refresh:",
                                       width="stretch")
        if make:
            st.session_state.pop(FAILED_KEY, None)
            with st.spinner(f"Making the {chosen.upper()}…"):
                try:
                    st.session_state[EXPORT_KEY] = (chosen, version, made_file(chosen, version, available[chosen]))
                except Exception as error:  # noqa: BLE001 - an export failure must not break the page
                    st.session_state[FAILED_KEY] = (chosen, version, failure_reason(error))
                    st.session_state.pop(EXPORT_KEY, None)  # the file it replaces is no longer offered
                    st.rerun()  # the panel says why, with its retry button
            if retried:
                st.rerun()  # the panel without the failure it drew above
        made = st.session_state.get(EXPORT_KEY)
        if made and made[0] == chosen and made[1] == version:
            mime, extension = exports.FORMATS[chosen]
            st.download_button(f"Download {extension.upper()} ({len(made[2]) / 1e3:,.0f} kB)", data=made[2],
                               file_name=f"descent-lab-{landscape.name}.{extension}", mime=mime,
                               key="compare.export_download", on_click="ignore", type="primary",
                               width="stretch")
