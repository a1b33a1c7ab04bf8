"""The landscape as a 3D surface with every path lifted onto it.

WebGL draws a 3D path point by point: the largest state a URL allows (16 optimizers × 12 starts
× 2000 steps, 384,000 points) froze the browser for half a minute. So the view draws what a
screen can show (`SCREEN_POINTS` over every path, a mesh of at most `MAX_RESOLUTION` per
side); exports ask for the exact figure (`max_points=None`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from landscapes import Landscape
from optimizers import Run

from .animation import Bounds
from .style import colour, dash, legend_labels, look

SCREEN_POINTS = 24_000  # points over every path together that the 3D view draws
SCREEN_CELLS = 600  # a path's consecutive points within 1/600 of the view (about a pixel) draw as one
MAX_RESOLUTION = 120  # surface mesh points per side


def surface_figure(landscape: Landscape, runs: Sequence[Run], *, labels: Sequence[str] | None = None,
                   slots: Sequence[int] | None = None, bounds: Bounds | None = None, resolution: int = 80,
                   height: int | None = None, presentation: bool = False,
                   max_points: int | None = SCREEN_POINTS) -> go.Figure:
    """f(x, y) as a surface over the view, each start's path drawn on it at its loss.

    Points outside the view are not drawn (the surface is clipped to it), so a diverging
    path ends at the view's edge. `presentation`: large text, thick lines, for a projector.
    The legend sits under the scene, where it can grow rows without meeting the title.

    - `max_points`: when the paths hold more points than this together, each is drawn through
      the points a screen tells apart (`screen_steps`: its first and last point always); None:
      every point (the exact figure, for a file). `resolution` (mesh points per side) is at
      most `MAX_RESOLUTION` unless `max_points` is None.
    """
    sizes = look(presentation)
    height = height or (720 if presentation else 560)
    labels = list(labels) if labels is not None else legend_labels(runs)
    slots = list(slots) if slots is not None else list(range(len(runs)))
    bounds = bounds or landscape.bounds
    if max_points is not None:
        resolution = min(resolution, MAX_RESOLUTION)
    xs, ys, z = landscape.grid(resolution, bounds)
    z = np.where(np.isfinite(z), z, np.nan)
    traces = [{"type": "surface", "x": xs, "y": ys, "z": z.astype(np.float32), "colorscale": "Viridis",
               "opacity": 0.85, "showscale": False, "name": "f", "hoverinfo": "skip",
               "contours": {"z": {"show": True, "usecolormap": True, "project": {"z": True}}}}]
    (x0, x1), (y0, y1) = bounds
    total = sum(run.points.shape[0] * run.points.shape[1] for run in runs)
    budget = None if max_points is None or total <= max_points else max(2, max_points // max(1, sum(
        len(run.points) for run in runs)))
    for run, label, slot in zip(runs, labels, slots, strict=True):
        for start, (path, losses) in enumerate(zip(run.points, run.losses, strict=True)):
            inside = ((path[:, 0] >= x0) & (path[:, 0] <= x1) & (path[:, 1] >= y0) & (path[:, 1] <= y1)
                      & np.isfinite(losses))
            shown = np.where(inside[:, None], path, np.nan)
            if budget is not None:
                steps = screen_steps(shown, bounds, budget)
                shown, losses, inside = shown[steps], losses[steps], inside[steps]
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


def screen_steps(path: np.ndarray, bounds: Bounds, budget: int) -> np.ndarray:
    """The steps of `path` ((T+1, 2), NaN where it is not drawn) that a screen tells apart, at most
    `budget` of them, in order, the first and the last always.

    A step is kept when it lands in another cell of a `SCREEN_CELLS` × `SCREEN_CELLS` grid over
    the view than the step before it (a path creeping into a minimum piles hundreds of steps into
    one pixel), and where the path leaves or re-enters the view (NaN); if that is still more
    than `budget`, evenly spread steps of those.

    >>> path = np.column_stack([np.r_[np.linspace(-1, 0, 11), np.zeros(990)], np.zeros(1001)])
    >>> screen_steps(path, ((-1, 1), (-1, 1)), 100).tolist()
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1000]
    """
    (x0, x1), (y0, y1) = bounds
    drawn = np.isfinite(path).all(axis=1)
    scale = np.array([SCREEN_CELLS / max(x1 - x0, 1e-300), SCREEN_CELLS / max(y1 - y0, 1e-300)])
    cells = np.floor((np.where(drawn[:, None], path, 0.0) - [x0, y0]) * scale)
    cell = np.where(drawn, cells[:, 0] * (SCREEN_CELLS + 1) + cells[:, 1], -1.0)
    keep = np.ones(len(path), dtype=bool)
    keep[1:] = cell[1:] != cell[:-1]
    keep[-1] = True
    steps = np.flatnonzero(keep)
    if len(steps) > budget:
        steps = steps[np.unique(np.round(np.linspace(0, len(steps) - 1, max(2, budget))).astype(int))]
    return steps
