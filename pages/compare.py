"""Compare: optimizers side by side on one landscape, animated paths beside their loss curves."""

import time
from dataclasses import dataclass, replace

import plotly.graph_objects as go
import streamlit as st

from figures import comparison_figure, legend_labels
from figures.summary import NUMBER_COLUMNS, shown_rows, summary_rows
from figures.surface import surface_figure
from landscapes import FormulaError, Landscape
from optimizers import Run, get_optimizer
from ui import compute, session, widgets
from ui.exporting import export_panel
from ui.state import SPEEDS, VIEWS, CompareState

CHART_KEY = "compare.chart"
FRAME_MS = 60  # per animation frame at 1× speed


@dataclass
class Drawn:
    state: CompareState
    landscape: Landscape
    runs: list[Run]
    labels: list[str]
    averaged: list[bool]
    figure: go.Figure | None


def draw(where, state: CompareState, landscape: Landscape, frame: int) -> Drawn:
    """Run every card (cached) and put the chosen view's figure into `where`."""
    starts = state.starts or landscape.starts
    results = compute.run_cards(landscape, state, tuple(starts))
    shown = [(c, r) for c, r in zip(state.cards, results, strict=True) if isinstance(r, Run)]
    runs = [r for _, r in shown]
    labels = legend_labels(runs)
    slots = [c.slot for c, _ in shown]
    averaged = [c.polyak for c, _ in shown]
    bounds = None if state.bounds is None else ((state.bounds[0], state.bounds[1]),
                                                (state.bounds[2], state.bounds[3]))
    with where.container():
        for c, result in zip(state.cards, results, strict=True):
            if not isinstance(result, Run):
                st.warning(f"{get_optimizer(c.optimizer).title} is not drawn: {result}", icon="⚠️")
        if not runs:
            st.info("Add an optimizer to see its path.")
            return Drawn(state, landscape, runs, labels, averaged, None)
        if state.view == "surface":
            figure = surface_figure(landscape, runs, labels=labels, slots=slots, bounds=bounds)
            st.plotly_chart(figure, key="compare.surface")
            return Drawn(state, landscape, runs, labels, averaged, figure)
        figure = comparison_figure(landscape, runs, labels=labels, slots=slots,
                                   averaged=averaged, log_loss=state.log_loss,
                                   bounds=bounds, frame=frame, frame_duration=int(FRAME_MS / state.speed))
        st.plotly_chart(figure, key=CHART_KEY, selection_mode="points",
                        on_select=lambda: widgets.add_clicked_start(CHART_KEY, landscape.starts))
        st.caption("Play runs the animation from the step shown, Pause stops it, the slider scrubs. "
                   "Click the landscape to add a start there.")
    return Drawn(state, landscape, runs, labels, averaged, figure)


started = time.perf_counter()
fresh = session.is_fresh()
state = session.load()
st.header("Compare optimizers")
for notice in state.notices:
    st.info(f"From the link: {notice}", icon="ℹ️")

controls, charts = st.columns([1, 3], gap="medium")
with charts:
    view_column, speed_column, log_column, step_column = st.columns([1.7, 1.2, 0.8, 1.1],
                                                                    vertical_alignment="bottom")
    st.session_state.setdefault("compare.view", state.view)
    view = view_column.segmented_control("View", VIEWS, key="compare.view", required=True,
                                         format_func={"contour": "Contour + loss", "surface": "3D surface"}.get)
    steps = int(st.session_state.get("compare.steps", state.steps))  # the Steps slider's value, read early
    speed, log_loss, frame = state.speed, state.log_loss, steps
    if (view or state.view) == "contour":  # the 3D view has no animation and no loss curves
        st.session_state.setdefault("compare.speed", state.speed)
        speed = speed_column.select_slider("Speed", SPEEDS, key="compare.speed", format_func=lambda s: f"{s:g}×")
        st.session_state.setdefault("compare.log", state.log_loss)
        log_loss = log_column.toggle("Log loss", key="compare.log")
        frame = step_column.number_input("Open at step", min_value=0, max_value=steps, value=steps,
                                         key=f"compare.frame.{steps}",
                                         help="The step the animation shows; − and + step back and forward")
    chart_area = st.empty()
state = replace(state, view=view or state.view, speed=speed, log_loss=log_loss)

drawn = None
if fresh:
    # A new session's widgets will show exactly this state: draw it before them, so that the
    # browser starts on the chart (Plotly is the slowest part of the page to load) at once.
    try:
        drawn = draw(chart_area, state, compute.landscape_of(state), int(frame))
    except (FormulaError, ValueError):
        drawn = None

with controls:
    state, landscape = widgets.landscape_picker(state)
    state = widgets.run_settings(state, landscape)
    st.subheader("Optimizers")
    state = widgets.optimizer_cards(state)

if drawn is None:
    drawn = draw(chart_area, state, landscape, int(frame))
elif drawn.state != state or drawn.landscape is not landscape:
    session.save(state)
    st.rerun()  # the early drawing is out of date; the chart may be drawn once per run

with charts:
    if drawn.runs:
        st.subheader("Summary")
        rows = summary_rows(drawn.runs, labels=drawn.labels, averaged=drawn.averaged, tol=state.tol)
        st.dataframe(shown_rows(rows), hide_index=True,
                     column_config={name: st.column_config.TextColumn(alignment="right") for name in NUMBER_COLUMNS})
    share, files = st.columns([1, 1])
    with share.popover("Copy link", icon=":material/link:", width="stretch"):
        st.caption("This address reopens exactly this comparison:")
        st.code(session.share_url(state), language=None, wrap_lines=True)
    with files:
        export_panel(drawn.figure, drawn.runs, drawn.labels, landscape, state)

session.save(state)
session.RENDER_SECONDS.append(time.perf_counter() - started)  # server time, read by bench/app.py
