"""Compare: optimizers side by side on one landscape, animated paths beside their loss curves.

Read top to bottom: the controls (sidebar) give the state; the state gives the runs (cached);
the runs give the figure; the figure and the table are drawn; the state goes to the URL.
"""

import streamlit as st

from figures import comparison_figure, legend_labels
from figures.summary import summary_rows
from figures.surface import surface_figure
from optimizers import Run, get_optimizer
from ui import compute, session, widgets
from ui.exporting import export_panel

CHART_KEY = "compare.chart"
FRAME_MS = 60  # per animation frame at 1× speed

state = session.load()

# -- controls ------------------------------------------------------------------------------
with st.sidebar:
    state, landscape = widgets.landscape_picker(state)
    state = widgets.run_settings(state, landscape)
    st.subheader("Optimizers")
    state = widgets.optimizer_cards(state, landscape)

view_column, log_column, presentation_column, share_column, files_column = st.columns(
    [2.2, 1, 1.3, 1, 1], vertical_alignment="bottom")
state = widgets.view_settings(state, view_column, log_column, presentation_column)
widgets.link_notices(state)

# -- runs ----------------------------------------------------------------------------------
starts = state.starts or landscape.starts
results = compute.run_cards(landscape, state, tuple(starts))
shown = [(c, r) for c, r in zip(state.cards, results, strict=True) if isinstance(r, Run)]
for c, result in zip(state.cards, results, strict=True):
    if not isinstance(result, Run):
        st.warning(f"{get_optimizer(c.optimizer).title} is not drawn: {result}", icon=":material/warning:")
runs = [r for _, r in shown]
labels = legend_labels(runs)
slots = [c.slot for c, _ in shown]
averaged = [c.polyak for c, _ in shown]
bounds = state.bounds

# -- figure ----------------------------------------------------------------------------------
figure, step = None, None
if not runs:
    st.info("Add an optimizer (in the sidebar) to see its path.")
elif state.view == "surface":
    figure = surface_figure(landscape, runs, labels=labels, slots=slots, bounds=bounds,
                            presentation=state.presentation)
    st.plotly_chart(figure, key="compare.surface")
else:
    figure = comparison_figure(landscape, runs, labels=labels, slots=slots, averaged=averaged,
                               log_loss=state.log_loss, bounds=bounds, frame_duration=FRAME_MS,
                               presentation=state.presentation)
    step = widgets.comparison_chart(figure, CHART_KEY, landscape, state.speed)

# -- table and files -------------------------------------------------------------------------
if runs:
    widgets.summary_table(summary_rows(runs, labels=labels, averaged=averaged, tol=state.tol))
with share_column:
    widgets.copy_link(session.share_url(state))
with files_column:
    export_panel(figure, runs, labels, landscape, state, step)

session.save(state)
