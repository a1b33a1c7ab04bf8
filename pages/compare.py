"""Compare: optimizers side by side on one landscape, animated paths beside their loss curves."""

import time
from dataclasses import replace

import streamlit as st

from figures import comparison_figure, legend_labels
from figures.summary import summary_rows
from figures.surface import surface_figure
from optimizers import Run
from ui import compute, session, widgets
from ui.exporting import export_panel
from ui.state import SPEEDS, VIEWS

CHART_KEY = "compare.chart"
FRAME_MS = 60  # per animation frame at 1× speed

started = time.perf_counter()
state = session.load()
st.header("Compare optimizers")
for notice in state.notices:
    st.info(f"From the link: {notice}", icon="ℹ️")

controls, charts = st.columns([1, 2.7], gap="medium")
with controls:
    state, landscape = widgets.landscape_picker(state)
    state = widgets.run_settings(state, landscape)
    st.subheader("Optimizers")
    state = widgets.optimizer_cards(state)

starts = state.starts or landscape.starts
results = compute.run_cards(landscape, state, tuple(starts))
shown = [(c, r) for c, r in zip(state.cards, results, strict=True) if isinstance(r, Run)]
runs = [r for _, r in shown]
labels = legend_labels(runs)
slots = [c.slot for c, _ in shown]
averaged = [c.polyak for c, _ in shown]
bounds = None if state.bounds is None else ((state.bounds[0], state.bounds[1]), (state.bounds[2], state.bounds[3]))

with charts:
    for c, result in zip(state.cards, results, strict=True):
        if not isinstance(result, Run):
            st.warning(f"{c.optimizer}: {result}", icon="⚠️")
    view_column, speed_column, log_column, step_column = st.columns([1.7, 1.2, 0.8, 1.1],
                                                                    vertical_alignment="bottom")
    st.session_state.setdefault("compare.view", state.view)
    view = view_column.segmented_control("View", VIEWS, key="compare.view", required=True,
                                         format_func={"contour": "Contour + loss", "surface": "3D surface"}.get)
    st.session_state.setdefault("compare.speed", state.speed)
    speed = speed_column.select_slider("Speed", SPEEDS, key="compare.speed", format_func=lambda s: f"{s:g}×")
    st.session_state.setdefault("compare.log", state.log_loss)
    log_loss = log_column.toggle("Log loss", key="compare.log")
    frame = step_column.number_input("Open at step", min_value=0, max_value=state.steps, value=state.steps,
                                     key=f"compare.frame.{state.steps}",
                                     help="The step the animation shows; − and + step back and forward")
    state = replace(state, view=view or state.view, speed=speed, log_loss=log_loss)

    if not runs:
        st.info("Add an optimizer to see its path.")
        figure = None
    elif state.view == "surface":
        figure = surface_figure(landscape, runs, labels=labels, slots=slots, bounds=bounds)
        st.plotly_chart(figure, key="compare.surface")
    else:
        figure = comparison_figure(landscape, runs, labels=labels, slots=slots, averaged=averaged,
                                   log_loss=state.log_loss, bounds=bounds, frame=int(frame),
                                   frame_duration=int(FRAME_MS / state.speed))
        st.plotly_chart(figure, key=CHART_KEY, selection_mode="points",
                        on_select=lambda: widgets.add_clicked_start(CHART_KEY, landscape.starts))
        st.caption("Play runs the animation from the step shown, Pause stops it, the slider scrubs. "
                   "Click the landscape to add a start there.")

    if runs:
        st.subheader("Summary")
        st.dataframe(summary_rows(runs, labels=labels, averaged=averaged, tol=state.tol), hide_index=True,
                     column_config={"final loss": st.column_config.NumberColumn(format="%.4g"),
                                    "distance to nearest minimum": st.column_config.NumberColumn(format="%.4g")})
    share, files = st.columns([1, 1])
    with share.popover("🔗 Copy link", use_container_width=True):
        st.caption("This address reopens exactly this comparison:")
        st.code(session.share_url(state), language=None, wrap_lines=True)
    with files:
        export_panel(figure, runs, labels, landscape, state)

session.save(state)
session.RENDER_SECONDS.append(time.perf_counter() - started)  # server time, read by bench/app.py
