"""Plotly figure builders: tidy inputs in, a `go.Figure` out; no Streamlit, no global state."""

from .contour import contour_paths, loss_curves

__all__ = ["contour_paths", "loss_curves"]
