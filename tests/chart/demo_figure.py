"""A figure shaped like the Compare figure (figures/animation.py), built from NumPy and Plotly alone so
that the chart's tests do not depend on the library: a contour picture as a layout image, paths and
loss curves drawn once as typed arrays, two moving traces in frames named by the step, and Plotly's
own Play/Pause buttons and step slider (which the chart drops)."""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

BOUNDS = ((-2.0, 2.0), (-1.0, 3.0))


def bowl_png(width: int = 300) -> str:
    """Grey bands of f(x, y) = x² + (y - 1)² over BOUNDS, as a data URI."""
    (x0, x1), (y0, y1) = BOUNDS
    gx, gy = np.meshgrid(np.linspace(x0, x1, width), np.linspace(y1, y0, width))
    bands = np.floor(np.sqrt(gx**2 + (gy - 1) ** 2) * 4)
    grey = (255 - 100 * bands / bands.max()).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey, mode="L").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def paths(steps: int, starts: int) -> np.ndarray:
    """(starts, steps+1, 2): spirals into (0, 1)."""
    t = np.arange(steps + 1)
    out = []
    for k in range(starts):
        radius = 1.6 * 0.97**t * (1 - 0.1 * k)
        angle = 0.25 * t + k
        out.append(np.stack([radius * np.cos(angle), 1 + radius * np.sin(angle)], axis=-1))
    return np.array(out)


def frame_names(steps: int, max_frames: int = 100) -> np.ndarray:
    count = max(2, min(steps + 1, max_frames))
    return np.unique(np.round(np.linspace(0, steps, count)).astype(int))


def demo_figure(steps: int = 40, starts: int = 2, frame_duration: int = 60) -> go.Figure:
    points = paths(steps, starts)
    losses = points[..., 0] ** 2 + (points[..., 1] - 1) ** 2 + 1e-3
    colours = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]
    static = [{"type": "scatter", "x": p[:, 0], "y": p[:, 1], "mode": "lines", "name": f"path {k}",
               "line": {"color": colours[k % 6]}, "xaxis": "x", "yaxis": "y"} for k, p in enumerate(points)]
    static += [{"type": "scatter", "x0": 0, "dx": 1, "y": loss, "mode": "lines", "name": f"loss {k}",
                "line": {"color": colours[k % 6]}, "xaxis": "x2", "yaxis": "y2"} for k, loss in enumerate(losses)]

    def moving(step: int) -> list[dict]:
        return [{"x": points[:, step, 0].tolist(), "y": points[:, step, 1].tolist()},
                {"x": [step] * starts, "y": losses[:, step].tolist()}]

    shown = frame_names(steps)
    heads, markers = moving(int(shown[-1]))
    moving_traces = [{"type": "scatter", **heads, "mode": "markers", "name": "now", "xaxis": "x", "yaxis": "y",
                      "marker": {"size": 12, "color": colours[:starts]}},
                     {"type": "scatter", **markers, "mode": "markers", "name": "step", "xaxis": "x2", "yaxis": "y2",
                      "marker": {"size": 10, "color": colours[:starts]}}]
    indices = [len(static), len(static) + 1]
    frames = [{"name": str(int(k)), "data": moving(int(k)), "traces": indices} for k in shown]
    (x0, x1), (y0, y1) = BOUNDS
    playing = {"frame": {"duration": frame_duration, "redraw": True}, "transition": {"duration": 0},
               "mode": "immediate", "fromcurrent": True}
    layout = {
        "height": 600, "margin": {"l": 50, "r": 75, "t": 75, "b": 135}, "title": {"text": "Bowl"},
        "xaxis": {"domain": [0, 0.64], "range": [x0, x1], "constrain": "domain", "showgrid": False},
        "yaxis": {"range": [y0, y1], "scaleanchor": "x", "constrain": "domain", "showgrid": False},
        "xaxis2": {"domain": [0.7, 1], "anchor": "y2", "range": [-0.5, steps + 0.5]},
        "yaxis2": {"anchor": "x2", "side": "right", "type": "log"},
        "images": [{"source": bowl_png(), "xref": "x", "yref": "y", "x": x0, "y": y1, "sizex": x1 - x0,
                    "sizey": y1 - y0, "sizing": "stretch", "layer": "below"}],
        "showlegend": False, "plot_bgcolor": "white",
        "updatemenus": [{"type": "buttons", "buttons": [
            {"label": "Play", "method": "animate", "args": [None, playing]},
            {"label": "Pause", "method": "animate",
             "args": [[None], {"frame": {"duration": 0}, "mode": "immediate"}]}]}],
        "sliders": [{"active": len(shown) - 1, "steps": [
            {"label": str(int(k)), "method": "animate", "args": [[str(int(k))], {"frame": {"duration": 0}}]}
            for k in shown]}],
    }
    return go.Figure(data=[*static, *moving_traces], layout=layout, frames=frames, _validate=False)
