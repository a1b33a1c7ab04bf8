"""Plotly figure builders: tidy inputs in, a `go.Figure` out; no Streamlit, no global state."""

from .animation import comparison_figure, frame_steps
from .style import PALETTE, colour, legend_labels

__all__ = ["PALETTE", "colour", "comparison_figure", "frame_steps", "legend_labels"]
