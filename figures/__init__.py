"""Plotly figure builders: tidy inputs in, a `go.Figure` out; no Streamlit, no global state."""

from .animation import comparison_figure, frame_steps
from .lecture import lecture_figure, phase_figure, state_figure
from .lecture_equations import equations_at, equations_by_step
from .lecture_map import map_click_setting, momentum_map_figure, momentum_rate
from .narration import narration, narration_by_step
from .style import PALETTE, colour, legend_labels

__all__ = ["PALETTE", "colour", "comparison_figure", "equations_at", "equations_by_step", "frame_steps",
           "lecture_figure", "legend_labels", "map_click_setting", "momentum_map_figure", "momentum_rate",
           "narration", "narration_by_step", "phase_figure", "state_figure"]
