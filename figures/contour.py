"""Contour plot of a landscape with optimizer paths, and the matching loss curves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from landscapes import Landscape
from optimizers import Run

from .style import PALETTE


def contour_paths(landscape: Landscape, runs: Sequence[Run], labels: Sequence[str] | None = None,
                  resolution: int = 160) -> go.Figure:
    """The landscape's contour with every start's path of every run drawn on top."""
    xs, ys, z = landscape.grid(resolution)
    if landscape.log_contour:
        z = np.log10(z - np.nanmin(z) + 1e-3 * max(float(np.nanmax(z) - np.nanmin(z)), 1e-12))
    figure = go.Figure(go.Contour(x=xs, y=ys, z=z, colorscale="Viridis", ncontours=30, showscale=False,
                                  line_width=0.5, hoverinfo="skip", name="f"))
    labels = labels or [run.optimizer for run in runs]
    for index, (run, label) in enumerate(zip(runs, labels, strict=True)):
        colour = PALETTE[index % len(PALETTE)]
        for start, path in enumerate(run.points):
            figure.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines+markers", name=label,
                                        legendgroup=label, showlegend=start == 0,
                                        line={"color": colour, "width": 2}, marker={"size": 3}))
    for minimum in landscape.minima:
        figure.add_trace(go.Scatter(x=[minimum.x], y=[minimum.y], mode="markers", showlegend=False,
                                    marker={"symbol": "star", "size": 12, "color": "white",
                                            "line": {"color": "black", "width": 1}}, hoverinfo="skip"))
    (x0, x1), (y0, y1) = landscape.bounds
    figure.update_layout(xaxis={"range": [x0, x1], "title": "x"},
                         yaxis={"range": [y0, y1], "title": "y", "scaleanchor": "x"},
                         title=landscape.title, margin={"l": 40, "r": 10, "t": 40, "b": 40})
    return figure


def loss_curves(runs: Sequence[Run], labels: Sequence[str] | None = None, log: bool = True) -> go.Figure:
    """Loss against step for every start of every run."""
    figure = go.Figure()
    labels = labels or [run.optimizer for run in runs]
    for index, (run, label) in enumerate(zip(runs, labels, strict=True)):
        colour = PALETTE[index % len(PALETTE)]
        for start, losses in enumerate(run.losses):
            figure.add_trace(go.Scatter(y=losses, mode="lines", name=label, legendgroup=label,
                                        showlegend=start == 0, line={"color": colour}))
    figure.update_layout(xaxis_title="step", yaxis_title="loss", yaxis_type="log" if log else "linear",
                         margin={"l": 40, "r": 10, "t": 40, "b": 40})
    return figure
