"""Compare: optimizers side by side on one landscape, animated paths beside their loss curves.

Read top to bottom: the state (the URL's on a session's first run); the controls (sidebar and
toolbar) give the state the user set; `show` turns a state into runs (cached), the figure and
the chart; then the table, the link, the files; the state goes to the URL.

A new visitor's browser has to load the script of every kind of element before it can draw
it, one kind after the other, in the order they arrive. So on a session's first run, whose
state is exactly what the controls will show (the URL's), the chart is drawn before the
controls: it arrives first and is drawn first (bench/app.py measures the difference).
"""

from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go
import streamlit as st

from figures import comparison_figure, legend_labels
from figures.summary import summary_rows
from figures.surface import surface_figure
from landscapes import FormulaError, Landscape
from optimizers import Run, get_optimizer
from ui import compute, session, widgets
from ui.exporting import export_panel
from ui.lecture import lecture_url_of
from ui.state import CompareState

CHART_KEY = "compare.chart"
FRAME_MS = 60  # per animation frame at 1× speed


@dataclass
class Shown:
    """What `show` drew: the state it drew and what the table and the files are made from."""

    state: CompareState
    runs: list[Run]
    labels: list[str]
    averaged: list[bool]
    figure: Callable[[], go.Figure] | None  # how to build the view's exact figure (for the files)
    step: int | None  # the step on screen, as the chart last reported it
    animated: bool  # the view has frames (GIF and MP4 are offered)


def show(where, state: CompareState, landscape: Landscape) -> Shown:
    """Run every card (cached), build the view's figure and draw it into `where`."""
    starts = state.starts or landscape.starts
    results = compute.run_cards(landscape, state, tuple(starts))
    cards = [(c, r) for c, r in zip(state.cards, results, strict=True) if isinstance(r, Run)]
    runs = [r for _, r in cards]
    labels = legend_labels(runs)
    slots = [c.slot for c, _ in cards]
    averaged = [c.polyak for c, _ in cards]
    figure, step = None, None
    with where:
        for c, result in zip(state.cards, results, strict=True):
            if not isinstance(result, Run):
                st.warning(f"{get_optimizer(c.optimizer).title} is not drawn: {result}", icon=":material/warning:")
        if not runs:
            st.info("Add an optimizer (in the sidebar) to see its path.")
        elif state.view == "surface":
            st.plotly_chart(surface_figure(landscape, runs, labels=labels, slots=slots, bounds=state.bounds,
                                           presentation=state.presentation), key="compare.surface")

            def exact_surface() -> go.Figure:  # every point of every path, for the files
                return surface_figure(landscape, runs, labels=labels, slots=slots, bounds=state.bounds,
                                      presentation=state.presentation, max_points=None)
            figure = exact_surface
        else:
            data = compute.comparison_chart_data(state, landscape, runs, labels, slots, averaged, FRAME_MS)
            step = widgets.comparison_chart(data, CHART_KEY, landscape)

            def exact() -> go.Figure:  # the figure the chart shows, built only when a file is made from it
                return comparison_figure(landscape, runs, labels=labels, slots=slots, averaged=averaged,
                                         log_loss=state.log_loss, bounds=state.bounds, frame_duration=FRAME_MS,
                                         presentation=state.presentation)
            figure = exact
    return Shown(state, runs, labels, averaged, figure, step, animated=state.view != "surface")


# -- state ---------------------------------------------------------------------------------
first_run = session.is_new()
state = session.load()
view_column, log_column, presentation_column, share_column, files_column = st.columns(
    [2.2, 1, 1.3, 1, 1], vertical_alignment="bottom")
notices = st.container()
chart = st.container()  # not st.empty: an empty slot is re-created every run, remounting the chart
shown = None
if first_run:
    try:
        shown = show(chart, state, compute.landscape_of(state))
    except FormulaError:  # the picker explains it below, and the page shows what it falls back to
        shown = None

# -- controls ------------------------------------------------------------------------------
with st.sidebar:
    state, landscape = widgets.landscape_picker(state)
    state = widgets.run_settings(state, landscape)
    st.subheader("Optimizers")
    state = widgets.optimizer_cards(state, landscape)
state = widgets.view_settings(state, view_column, log_column, presentation_column)
with notices:
    widgets.link_notices(state)

# -- figure --------------------------------------------------------------------------------
if shown is None:
    shown = show(chart, state, landscape)
elif shown.state != state:  # the controls did not reproduce the URL's state: never expected
    session.save(state)
    st.rerun()

# -- table, link and files -----------------------------------------------------------------
if shown.runs:
    widgets.summary_table(summary_rows(shown.runs, labels=shown.labels, averaged=shown.averaged, tol=state.tol))
with share_column:
    widgets.copy_link(session.share_url(state))
with files_column:
    export_panel(shown.figure, shown.runs, shown.labels, landscape, state, shown.step, animated=shown.animated)
st.link_button("Lecture this", lecture_url_of(state), help="Step through the first three cards on the Lecture page")

session.save(state)
