"""The landscape as a 3D surface with every path lifted onto it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from landscapes import Landscape
from optimizers import Run

from .animation import Bounds
from .style import colour, dash, legend_labels, look


def surface_figure(landscape: Landscape, runs: Sequence[Run], *, labels: Sequence[str] | None = None,
                   slots: Sequence[int] | None = None, bounds: Bounds | None = None, resolution: int = 80,
                   height: int | None = None, presentation: bool = False) -> go.Figure:
    """f(x, y) as a surface over the view, each start's path drawn on it at its loss.

    Points outside the view are not drawn (the surface is clipped to it), so a diverging
    path ends at the view's edge. `presentation`: large text, thick lines, for a projector.
    The legend sits under the scene, where it can grow rows without meeting the title.
    """
    sizes = look(presentation)
    height = height or (720 if presentation else 560)
    labels = list(labels) if labels is not None else legend_labels(runs)
    slots = list(slots) if slots is not None else list(range(len(runs)))
    bounds = bounds or landscape.bounds
    xs, ys, z = landscape.grid(resolution, bounds)
    z = np.where(np.isfinite(z), z, np.nan)
    traces = [{"type": "surface", "x": xs, "y": ys, "z": z.astype(np.float32), "colorscale": "Viridis",
               "opacity": 0.85, "showscale": False, "name": "f", "hoverinfo": "skip",
               "contours": {"z": {"show": True, "usecolormap": True, "project": {"z": True}}}}]
    (x0, x1), (y0, y1) = bounds
    for run, label, slot in zip(runs, labels, slots, strict=True):
        for start, (path, losses) in enumerate(zip(run.points, run.losses, strict=True)):
            inside = ((path[:, 0] >= x0) & (path[:, 0] <= x1) & (path[:, 1] >= y0) & (path[:, 1] <= y1)
                      & np.isfinite(losses))
            shown = np.where(inside[:, None], path, np.nan)
            traces.append({"type": "scatter3d", "x": shown[:, 0], "y": shown[:, 1],
                           "z": np.where(inside, losses, np.nan), "mode": "lines+markers", "name": label,
                           "legendgroup": label, "showlegend": start == 0,
                           "line": {"color": colour(slot), "width": 3 * sizes.line, "dash": dash(slot)},
                           "marker": {"size": 2 * sizes.marker, "color": colour(slot)}})
    axis = {"tickfont": {"size": sizes.ticks}}
    title = {"font": {"size": sizes.axis_title}}
    layout = {"height": height, "margin": {"l": 10, "r": 10, "t": int(2.2 * sizes.title + 16), "b": 10},
              "font": {"size": sizes.ticks},
              "title": {"text": f"{landscape.title}: surface", "x": 0.01, "xanchor": "left", "y": 1,
                        "yref": "container", "yanchor": "top", "pad": {"t": 12}, "font": {"size": sizes.title}},
              "scene": {"xaxis": {"title": {"text": "x", **title}, "range": [x0, x1], **axis},
                        "yaxis": {"title": {"text": "y", **title}, "range": [y0, y1], **axis},
                        "zaxis": {"title": {"text": "f", **title}, **axis}, "aspectmode": "manual",
                        "aspectratio": {"x": 1.4, "y": 1.4 * (y1 - y0) / (x1 - x0) if x1 > x0 else 1, "z": 0.8}},
              "legend": {"orientation": "h", "x": 0.0, "xanchor": "left", "xref": "paper", "y": 0, "yanchor": "bottom",
                         "yref": "container", "font": {"size": sizes.legend}, "itemwidth": 30 + sizes.line * 10}}
    return go.Figure(data=traces, layout=layout, _validate=False)
