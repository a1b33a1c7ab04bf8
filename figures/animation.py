"""The Compare figure: animated paths on the contour, beside the loss curves, in one Plotly figure.

One figure, two panels, so that a single animation frame moves both the paths and the
marker on the loss curves. The payload stays small: the contour (a layout image, see
`background`), the exact paths and the loss curves are drawn once (typed arrays); frames
carry only the two traces that move (the current point of every path, and its marker on
the loss curves); long runs get a capped number of frames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from landscapes import Bounds, Landscape
from optimizers import Run, polyak_average

from .background import HATCH, UNDEFINED, UNDEFINED_NOTE, contour_image, undefined_share
from .style import Look, colour, dash, legend_labels, look

CLICK_TRACE = 0  # index of the invisible click grid, see `click_targets`
CONTROLS_ROOM = "controls_room"  # layout.meta key: px of the bottom margin the playback controls use
# Trace `meta` read by exports.frames.animation_spec: in an exported animation (GIF, MP4) a
# trace marked GROWS shows its points 0..k in the frame of step k (point i is step i), and one
# marked STEP_LABEL reads "step k". The interactive figure keeps them whole and blank: the
# frames carry only the two moving traces (DESIGN §7, payload ≤ 1 MB).
GROWS = {"grows": True}
STEP_LABEL = {"step_label": "step {step}"}
CLIPPED_NOTE = "clipped to the range of f over the view"


@dataclass(frozen=True)
class Series:
    """One path: start `start` of run `run`, drawn in palette slot `slot`."""

    run: int
    start: int
    label: str
    slot: int
    points: np.ndarray  # (T+1, 2), non-finite values replaced by NaN
    losses: np.ndarray  # (T+1,)


def frame_steps(steps: int, max_frames: int = 100) -> np.ndarray:
    """The optimizer steps shown as animation frames: every step for short runs, else
    `max_frames` evenly spread steps, the first and the last included."""
    count = max(2, min(steps + 1, max_frames))
    return np.unique(np.round(np.linspace(0, steps, count)).astype(int))


def comparison_figure(landscape: Landscape, runs: Sequence[Run], *, labels: Sequence[str] | None = None,
                      slots: Sequence[int] | None = None, averaged: Sequence[bool] | None = None,
                      log_loss: bool = True, bounds: Bounds | None = None, frame: int | None = None,
                      max_frames: int = 100, frame_duration: int = 80,
                      height: int | None = None, presentation: bool = False) -> go.Figure:
    """Contour with every run's paths (left) beside their loss curves (right), animated.
    `comparison_spec` with the same arguments, as a `go.Figure`.

    - `runs`: from `simulate(..., record="path")` or "full"; every start of every run is a path.
    - `labels`: legend name per run (default `legend_labels(runs)`); `slots`: palette slot
      per run, so a run keeps its colour when others are added or removed.
    - `averaged`: per run, also draw its Polyak average (running mean of the iterates).
    - `frame`: the optimizer step the figure opens at (default: the last); Play continues
      from there. Every path is drawn exactly and in full; the frames move a marker along
      each path and along each loss curve: every step for runs up to `max_frames` steps,
      evenly spread steps beyond. Exported as GIF or MP4 (exports.to_gif), the paths grow
      with the frames and each frame is labelled "step k".
    - `presentation`: large text, thick lines and big markers, for a projector.
    - The loss axis is clipped to the range of f over the view, with a note in its title,
      when some loss lies far outside it (a path running off to −∞ on a saddle).
    - The legend sits under the plots, where it can grow rows without meeting the title.

    >>> from optimizers import simulate
    >>> from landscapes import get_landscape
    >>> land = get_landscape("quadratic")
    >>> figure = comparison_figure(land, [simulate(land, "sgd", [(-4, 2)], 50, record="path", lr=0.1)])
    >>> len(figure.frames)
    51
    """
    return go.Figure(comparison_spec(landscape, runs, labels=labels, slots=slots, averaged=averaged,
                                     log_loss=log_loss, bounds=bounds, frame=frame, max_frames=max_frames,
                                     frame_duration=frame_duration, height=height, presentation=presentation),
                     _validate=False)


def comparison_spec(landscape: Landscape, runs: Sequence[Run], *, labels: Sequence[str] | None = None,
                    slots: Sequence[int] | None = None, averaged: Sequence[bool] | None = None,
                    log_loss: bool = True, bounds: Bounds | None = None, frame: int | None = None,
                    max_frames: int = 100, frame_duration: int = 80,
                    height: int | None = None, presentation: bool = False) -> dict:
    """`comparison_figure` as plain dicts, {"data", "layout", "frames"} (NumPy arrays inside):
    what a page sends to the browser without building and validating a Plotly object per trace
    and per frame (most of a rerun's server time, DESIGN §7). Arguments as `comparison_figure`.
    """
    labels = list(labels) if labels is not None else legend_labels(runs)
    slots = list(slots) if slots is not None else list(range(len(runs)))
    averaged = list(averaged) if averaged is not None else [False] * len(runs)
    bounds = bounds or landscape.bounds
    sizes = look(presentation)
    series = _series(runs, labels, slots)
    steps = max((run.steps for run in runs), default=0)
    shown = frame_steps(steps, max_frames)
    if frame is not None:  # the step asked for is always a frame, even between the evenly spread ones
        shown = np.union1d(shown, [min(max(int(frame), 0), steps)])
    current = len(shown) - 1 if frame is None else int(np.searchsorted(shown, min(max(frame, 0), steps)))
    # A loss of exactly 0 (a minimum reached) is a gap on a log axis; a negative one needs a linear axis.
    log_axis = (log_loss and all(np.nanmin(s.losses, initial=np.inf) >= 0 for s in series)
                and any(np.nanmax(s.losses, initial=0) > 0 for s in series))

    static = [click_targets(bounds)]
    for s in series:
        static.append(_path(s, sizes))
    for index, (run, label, slot) in enumerate(zip(runs, labels, slots, strict=True)):
        if averaged[index]:
            static.extend(_averaged_path(run, label, slot, index, sizes))
    static.extend(_loss_curve(s, sizes, first=s.start == 0) for s in series)
    static.append(_starts(series, sizes))
    static.append(_minima(landscape, sizes))
    static.append(_divergences(runs, series, sizes))
    if undefined_share(landscape, bounds) > 0:
        static.append(_undefined_note())
    static.append(_step_label(bounds, sizes))
    moving = _moving_traces(series, int(shown[current]), sizes)
    moving_indices = list(range(len(static), len(static) + len(moving)))
    frames = [{"data": _moving(series, int(k)), "name": str(int(k)), "traces": moving_indices}
              for k in shown]
    (x0, x1), (y0, y1) = bounds
    if height is None:  # tall enough for the contour at equal scales in a ~800 px wide figure
        height = int(np.clip(470 * (y1 - y0) / (x1 - x0) + 210, 440, 660))
        if presentation:
            height = max(height, 720)
    loss_range, clipped = loss_axis_range(landscape, bounds, series, log_axis)
    loss_title = "loss" if log_axis or not log_loss else "loss (linear: some losses ≤ 0)"
    if clipped:
        loss_title += f"<br><sub>{CLIPPED_NOTE}</sub>"
    ticks = {"tickfont": {"size": sizes.ticks}, "automargin": True}
    # Below the plot area, from the top: tick labels, the x-axis titles, then (interactive
    # figure) the play buttons and the slider, then the legend in a margin of its own.
    below_axis = 2.6 * sizes.ticks + 1.6 * sizes.axis_title + 10
    controls = 3.6 * sizes.ticks + 30
    layout = {
        "height": height,
        "font": {"size": sizes.ticks},
        "margin": {"l": 20, "r": 20, "t": int(2.2 * sizes.title + 16), "b": int(below_axis + controls + 10)},
        "title": {"text": landscape.title, "x": 0.01, "xanchor": "left", "y": 1, "yref": "container",
                  "yanchor": "top", "pad": {"t": 12}, "font": {"size": sizes.title}},
        "xaxis": {"domain": [0.0, 0.62], "range": [x0, x1], "title": {"text": "x", "font": {"size": sizes.axis_title}},
                  "constrain": "domain", "showgrid": False, "zeroline": False, **ticks},
        "yaxis": {"range": [y0, y1], "title": {"text": "y", "font": {"size": sizes.axis_title}}, "scaleanchor": "x",
                  "constrain": "domain", "showgrid": False, "zeroline": False, **ticks},
        "images": [contour_image(landscape, bounds)],
        "xaxis2": {"domain": [0.7, 1.0], "anchor": "y2", "title": {"text": "step", "font": {"size": sizes.axis_title}},
                   "range": [-0.02 * max(steps, 1), 1.05 * max(steps, 1)], **ticks},
        "yaxis2": {"anchor": "x2", "side": "right", "type": "log" if log_axis else "linear", "exponentformat": "power",
                   "title": {"text": loss_title, "font": {"size": sizes.axis_title}}, **ticks,
                   "ticklabelstandoff": int(0.5 * sizes.ticks),  # clear of the step axis's last label
                   **({"range": loss_range, "autorange": False} if clipped else {})},
        "legend": {"orientation": "h", "x": 0.0, "xanchor": "left", "xref": "paper", "y": 0, "yanchor": "bottom",
                   "yref": "container", "font": {"size": sizes.legend}, "itemwidth": 30 + sizes.line * 10},
        "hovermode": "closest",
        "plot_bgcolor": "white",
        # The pixels the play buttons and the slider take under the plots: a chart with controls
        # of its own, or a still image, takes them back (exports.still, chart.plotly_chart).
        "meta": {CONTROLS_ROOM: int(controls)},
        "updatemenus": [_controls(frame_duration, below_axis, sizes)],
        "sliders": [_slider(shown, current, frame_duration, below_axis, sizes)],
    }
    return {"data": [*static, *moving], "layout": layout, "frames": frames}


def _series(runs: Sequence[Run], labels: Sequence[str], slots: Sequence[int]) -> list[Series]:
    series = []
    for index, (run, label, slot) in enumerate(zip(runs, labels, slots, strict=True)):
        if run.points is None:
            raise ValueError("comparison_figure needs runs simulated with record='path' or 'full'")
        points = np.where(np.isfinite(run.points), run.points, np.nan)
        losses = np.where(np.isfinite(run.losses), run.losses, np.nan)
        series.extend(Series(index, start, label, slot, points[start], losses[start])
                      for start in range(len(run.points)))
    return series


def click_targets(bounds: Bounds, across: int = 60) -> dict:
    """An invisible grid of points over the contour (trace `CLICK_TRACE`): Plotly reports
    clicks on points, not on the contour, so a click lands on the nearest grid point, at
    round coordinates (the spacing is 1, 2 or 5 × 10^k, about 1/`across` of the view)."""
    (x0, x1), (y0, y1) = bounds
    raw = max(x1 - x0, y1 - y0) / across
    power = 10.0 ** math.floor(math.log10(raw))
    spacing = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    xs = np.arange(math.ceil(x0 / spacing), math.floor(x1 / spacing) + 1) * spacing
    ys = np.arange(math.ceil(y0 / spacing), math.floor(y1 / spacing) + 1) * spacing
    gx, gy = np.meshgrid(xs, ys)
    return {"type": "scatter", "x": gx.ravel(), "y": gy.ravel(), "mode": "markers", "name": "add a start",
            "showlegend": False, "marker": {"size": 9, "color": "rgba(0,0,0,0)"},
            "unselected": {"marker": {"opacity": 0}}, "selected": {"marker": {"opacity": 0}},
            "hovertemplate": "(%{x:.4g}, %{y:.4g})<extra>click: add a start</extra>", "xaxis": "x", "yaxis": "y"}


def _path(s: Series, sizes: Look) -> dict:
    return {"type": "scatter", "x": s.points[:, 0], "y": s.points[:, 1], "mode": "lines",
            "line": {"color": colour(s.slot), "width": sizes.line, "dash": dash(s.slot)}, "opacity": 0.8,
            "name": s.label, "legendgroup": s.label, "showlegend": False, "hoverinfo": "skip",
            "meta": GROWS, "xaxis": "x", "yaxis": "y"}


def _averaged_path(run: Run, label: str, slot: int, index: int, sizes: Look) -> list[dict]:
    paths = polyak_average(np.where(np.isfinite(run.points), run.points, np.nan))
    return [{"type": "scatter", "x": path[:, 0], "y": path[:, 1], "mode": "lines",
             "name": f"{label} (Polyak average)", "legendgroup": label + " avg", "showlegend": start == 0,
             "legendrank": 1001 + 2 * index,
             "line": {"color": colour(slot), "width": sizes.line, "dash": "dash"}, "hoverinfo": "skip",
             "meta": GROWS, "xaxis": "x", "yaxis": "y"}
            for start, path in enumerate(paths)]


def _loss_curve(s: Series, sizes: Look, first: bool) -> dict:
    return {"type": "scatter", "x0": 0, "dx": 1, "y": s.losses, "mode": "lines", "name": s.label,
            "legendgroup": s.label, "showlegend": first, "legendrank": 1000 + 2 * s.run,
            "line": {"color": colour(s.slot), "width": sizes.line, "dash": dash(s.slot)},
            "hovertemplate": "step %{x}: loss %{y:.4g}<extra>" + s.label + "</extra>",
            "xaxis": "x2", "yaxis": "y2"}


def _starts(series: Sequence[Series], sizes: Look) -> dict:
    return {"type": "scatter", "x": np.array([s.points[0, 0] for s in series]),
            "y": np.array([s.points[0, 1] for s in series]), "mode": "markers", "name": "starts",
            "showlegend": False, "marker": {"symbol": "circle-open", "size": 11 * sizes.marker, "color": "black",
                                            "line": {"width": 2 * sizes.marker}},
            "hovertemplate": "start (%{x:.3g}, %{y:.3g})<extra></extra>", "xaxis": "x", "yaxis": "y"}


def _minima(landscape: Landscape, sizes: Look) -> dict:
    return {"type": "scatter", "x": [m.x for m in landscape.minima], "y": [m.y for m in landscape.minima],
            "mode": "markers", "name": "minima", "showlegend": False,
            "marker": {"symbol": "star", "size": 13 * sizes.marker, "color": "white",
                       "line": {"color": "black", "width": sizes.marker}},
            "hovertemplate": "minimum (%{x:.3g}, %{y:.3g})<extra></extra>", "xaxis": "x", "yaxis": "y"}


def _divergences(runs: Sequence[Run], series: Sequence[Series], sizes: Look) -> dict:
    """A cross where a start diverged, at its last finite point."""
    xs, ys, texts = [], [], []
    for s in series:
        step = int(runs[s.run].diverged[s.start])
        if step >= 0:
            finite = np.flatnonzero(np.isfinite(s.points).all(axis=1))
            last = s.points[finite[-1]] if len(finite) else s.points[0]
            xs.append(last[0])
            ys.append(last[1])
            texts.append(f"{s.label}: diverged at step {step}")
    return {"type": "scatter", "x": xs, "y": ys, "text": texts, "mode": "markers", "name": "diverged",
            "showlegend": False, "marker": {"symbol": "x", "size": 14 * sizes.marker, "color": "#D55E00"},
            "hovertemplate": "%{text}<extra></extra>", "xaxis": "x", "yaxis": "y"}


def _undefined_note() -> dict:
    """A legend entry for the hatch that `contour_image` draws where f is not finite."""
    hatch, ground = (f"rgb{colour}" for colour in (HATCH, UNDEFINED))
    return {"type": "scatter", "x": [None], "y": [None], "mode": "lines", "fill": "toself", "name": UNDEFINED_NOTE,
            "fillcolor": ground, "fillpattern": {"shape": "/", "fgcolor": hatch, "bgcolor": ground, "size": 6},
            "line": {"color": hatch, "width": 1}, "showlegend": True, "legendrank": 2000, "hoverinfo": "skip",
            "xaxis": "x", "yaxis": "y"}


def _moving(series: Sequence[Series], step: int) -> list[dict]:
    """The traces a frame changes: where every path is at `step`, and the matching markers on
    the loss curves. Small lists: a few numbers per frame."""
    at = [min(step, len(s.points) - 1) for s in series]
    heads = {"type": "scatter", "x": [_number(s.points[k, 0]) for s, k in zip(series, at, strict=True)],
             "y": [_number(s.points[k, 1]) for s, k in zip(series, at, strict=True)]}
    markers = {"type": "scatter", "x": at, "y": [_number(s.losses[k]) for s, k in zip(series, at, strict=True)]}
    return [heads, markers]


def _moving_traces(series: Sequence[Series], step: int, sizes: Look) -> list[dict]:
    """The moving traces in full (style included) as they stand at `step`."""
    heads, markers = _moving(series, step)
    colours = [colour(s.slot) for s in series]
    texts = [s.label for s in series]
    return [{**heads, "mode": "markers", "name": "now", "showlegend": False,
             "marker": {"size": 12 * sizes.marker, "color": colours,
                        "line": {"color": "white", "width": 1.5 * sizes.marker}},
             "text": texts, "hovertemplate": "%{text}<br>(%{x:.4g}, %{y:.4g})<extra></extra>",
             "xaxis": "x", "yaxis": "y"},
            {**markers, "mode": "markers", "name": "step", "showlegend": False,
             "marker": {"size": 10 * sizes.marker, "color": colours,
                        "line": {"color": "black", "width": sizes.marker}},
             "text": texts, "hovertemplate": "%{text}<br>step %{x}: loss %{y:.4g}<extra></extra>",
             "xaxis": "x2", "yaxis": "y2"}]


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _controls(frame_duration: int, below_axis: float, sizes: Look) -> dict:
    playing = {"frame": {"duration": frame_duration, "redraw": True}, "transition": {"duration": 0},
               "mode": "immediate", "fromcurrent": True}
    still = {"frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0}, "mode": "immediate"}
    # y = 0 is the bottom of the plot area; pad moves them a fixed number of pixels below it.
    return {"type": "buttons", "direction": "left", "showactive": False, "x": 0.0, "xanchor": "left",
            "y": 0, "yanchor": "top", "pad": {"r": 8, "t": int(below_axis)}, "font": {"size": sizes.ticks},
            "buttons": [{"label": "▶  Play", "method": "animate", "args": [None, playing]},
                        {"label": "❚❚  Pause", "method": "animate", "args": [[None], still]}]}


def _slider(shown: np.ndarray, current: int, frame_duration: int, below_axis: float, sizes: Look) -> dict:
    jump = {"frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0}, "mode": "immediate"}
    return {"active": current, "x": 0.22 if sizes.ticks > 12 else 0.16, "len": 0.78 if sizes.ticks > 12 else 0.84,
            "y": 0, "yanchor": "top", "pad": {"t": int(below_axis) - 12},
            "font": {"size": sizes.ticks}, "currentvalue": {"prefix": "step ", "visible": True, "xanchor": "right",
                                                            "font": {"size": sizes.ticks}},
            "steps": [{"label": str(int(k)), "method": "animate", "args": [[str(int(k))], jump]}
                      for k in shown]}


def _step_label(bounds: Bounds, sizes: Look) -> dict:
    """Blank text above the contour's top right corner; "step k" in each frame of an exported animation."""
    (_, x1), (_, y1) = bounds
    return {"type": "scatter", "x": [x1], "y": [y1], "mode": "text", "text": [""], "textposition": "top left",
            "textfont": {"size": sizes.axis_title}, "cliponaxis": False, "name": "step label",
            "showlegend": False, "hoverinfo": "skip", "meta": STEP_LABEL, "xaxis": "x", "yaxis": "y"}


def loss_axis_range(landscape: Landscape, bounds: Bounds, series: Sequence[Series],
                    log_axis: bool) -> tuple[list[float] | None, bool]:
    """A loss-axis range that keeps every curve readable, and whether some loss lies beyond it.

    The range spans the values of f over the view and the losses of the points inside the
    view, with a margin; a loss far beyond (a path running away on a saddle reaches −8e15)
    would flatten every other curve, so the axis stops there. On a log axis only the top is
    clipped: the approach to a minimum is what the log axis is for. None: autorange.
    """
    (x0, x1), (y0, y1) = bounds
    _, _, z = landscape.grid(60, bounds)
    seen = [z[np.isfinite(z)]]
    for s in series:
        inside = ((s.points[:, 0] >= x0) & (s.points[:, 0] <= x1) & (s.points[:, 1] >= y0)
                  & (s.points[:, 1] <= y1) & np.isfinite(s.losses))
        seen.append(s.losses[inside])
    losses = np.concatenate([s.losses[np.isfinite(s.losses)] for s in series] or [np.array([])])
    values = np.concatenate(seen)
    if not len(values) or not len(losses):
        return None, False
    low, high = float(values.min()), float(values.max())
    if log_axis:
        positive = losses[losses > 0]
        top = np.log10(max(high, float(positive.min()))) if high > 0 else np.log10(float(positive.max()))
        if float(np.log10(positive.max())) <= top + 1:  # within a decade of the range: nothing to clip
            return None, False
        bottom = float(np.log10(positive.min()))
        pad = 0.05 * max(top - bottom, 1.0)
        return [bottom - pad, top + pad], True
    pad = 0.05 * max(high - low, 1e-12)
    if losses.min() >= low - 2 * pad and losses.max() <= high + 2 * pad:
        return None, False
    return [low - pad, high + pad], True
