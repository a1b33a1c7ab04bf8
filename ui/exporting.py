"""The export panel: a file is made on demand, under a spinner, then offered by st.download_button."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence

import plotly.graph_objects as go
import streamlit as st

import exports
from figures.animation import CLICK_TRACE
from landscapes import Landscape
from optimizers import Run

from .state import CompareState, to_query

EXPORT_KEY = "compare.export"
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


def makers(figure: go.Figure, runs: Sequence[Run], labels: Sequence[str], landscape: Landscape,
           step: int | None = None) -> dict[str, Callable[[], bytes]]:
    """How to make each format from what the page shows. Images show the step on screen
    (`step`, as the chart last reported it; None: the last step); HTML, GIF and MP4 the
    whole animation."""
    names = [frame.name for frame in figure.frames]

    def for_file() -> go.Figure:
        """The figure without what only the page needs: the click grid."""
        copy = go.Figure(figure)
        if names:
            copy.data[CLICK_TRACE].visible = False
        return copy

    def still() -> go.Figure:
        if not names:
            return for_file()
        steps = [int(name) for name in names]
        shown = len(names) - 1 if step is None else min(range(len(steps)), key=lambda i: abs(steps[i] - step))
        return exports.still(for_file(), shown)

    return {
        "png": lambda: exports.to_png(still()),
        "svg": lambda: exports.to_svg(still()),
        "html": lambda: exports.to_html(for_file()),
        **({"gif": lambda: exports.to_gif(for_file(), max_frames=ANIMATION_FRAMES),
            "mp4": lambda: exports.to_mp4(for_file(), max_frames=ANIMATION_FRAMES)} if names else {}),
        "csv": lambda: exports.to_csv(runs, labels),
        "json": lambda: exports.to_json(runs, labels, landscape=landscape.title),
    }


def export_panel(figure: go.Figure | None, runs: Sequence[Run], labels: Sequence[str], landscape: Landscape,
                 state: CompareState, step: int | None = None) -> None:
    """Pick a format, make the file (spinner), download it. A made file is kept until the
    state changes, so reruns do not redo the work and a stale file is never offered."""
    if figure is None:
        return
    available = makers(figure, runs, labels, landscape, step)
    version = hashlib.sha1(json.dumps([to_query(state), step], sort_keys=True).encode()).hexdigest()
    with st.popover("Export", icon=":material/download:", width="stretch"):
        st.session_state.setdefault(FORMAT_KEY, "png")
        if st.session_state[FORMAT_KEY] not in available:
            st.session_state[FORMAT_KEY] = "png"
        chosen = st.selectbox("Format", list(available), key=FORMAT_KEY, format_func=DESCRIPTIONS.get)
        if st.button("Make the file", key="compare.export_make", width="stretch"):
            with st.spinner(f"Making the {chosen.upper()}…"):
                try:
                    st.session_state[EXPORT_KEY] = (chosen, version, available[chosen]())
                except Exception as error:  # noqa: BLE001 - an export failure must not break the page
                    reason = str(error) or type(error).__name__
                    st.error(f"Could not make the {chosen.upper()} ({reason}). Press “Make the file” to try "
                             "again.", icon=":material/warning:")
        made = st.session_state.get(EXPORT_KEY)
        if made and made[0] == chosen and made[1] == version:
            mime, extension = exports.FORMATS[chosen]
            st.download_button(f"Download {extension.upper()} ({len(made[2]) / 1e3:,.0f} kB)", data=made[2],
                               file_name=f"descent-lab-{landscape.name}.{extension}", mime=mime,
                               key="compare.export_download", on_click="ignore", type="primary",
                               width="stretch")
