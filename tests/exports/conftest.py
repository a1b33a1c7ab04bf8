"""Shared input for the exports tests: a small animated figure whose red marker walks left to right."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

# Where the red marker stands in each of the 5 frames; the x axis spans [-1, 1].
MARKER_X = (-0.8, -0.4, 0.0, 0.4, 0.8)
FRAME_COUNT = len(MARKER_X)


def animated_figure() -> go.Figure:
    """A contour (trace 0) under a growing path (trace 1) and its red head (trace 2).

    The 5 frames update traces 1 and 2 only; a slider and a play button drive them, as in the app.
    """
    grid = np.linspace(-1.0, 1.0, 21)
    # Heatmap colouring: a smooth gradient of more colours than a GIF palette holds.
    contour = go.Contour(x=grid, y=grid, z=grid[None, :] ** 2 + grid[:, None] ** 2, colorscale="Viridis",
                         contours={"coloring": "heatmap"}, showscale=False, name="landscape")
    path = go.Scatter(x=[MARKER_X[0]], y=[0.0], mode="lines", name="path", line={"color": "#0000ff", "width": 2})
    head = go.Scatter(x=[MARKER_X[0]], y=[0.0], mode="markers", name="now",
                      marker={"size": 16, "color": "#ff0000", "symbol": "square"})
    frames = [go.Frame(name=str(k), traces=[1, 2],
                       data=[go.Scatter(x=list(MARKER_X[:k + 1]), y=[0.0] * (k + 1)),
                             go.Scatter(x=[MARKER_X[k]], y=[0.0])])
              for k in range(FRAME_COUNT)]
    jump = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}
    layout = go.Layout(
        xaxis={"range": [-1, 1], "visible": False}, yaxis={"range": [-1, 1], "visible": False}, showlegend=False,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor="white", plot_bgcolor="white",
        updatemenus=[{"type": "buttons", "buttons": [{"label": "Play", "method": "animate", "args": [None]}]}],
        sliders=[{"steps": [{"label": str(k), "method": "animate", "args": [[str(k)], jump]}
                            for k in range(FRAME_COUNT)]}],
    )
    return go.Figure(data=[contour, path, head], layout=layout, frames=frames)


@pytest.fixture
def figure() -> go.Figure:
    """A fresh animated figure (tests may modify it)."""
    return animated_figure()


@pytest.fixture(scope="session")
def make_figure():
    """The figure builder itself, for fixtures wider than one test (rendered GIF and MP4)."""
    return animated_figure
