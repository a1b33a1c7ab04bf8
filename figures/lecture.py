"""The Lecture figures: arrows of one update at a time on the contour, the optimizer's state over
time, and the phase plane along the Hessian's eigen-directions; every frame named by its step.

Frame k shows θ_k and the update it makes (t = k + 1 in the equations, see `lecture_data`).
Frames carry only the traces that move (scatter traces: the chart component animates with
``redraw: false``, which moves scatter traces and nothing else), so arrows are lines whose
last point is an arrowhead marker (``angleref: "previous"`` turns it along the line).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from landscapes import Bounds, Landscape
from optimizers import Run

from .animation import click_targets, frame_steps
from .background import contour_image
from .lecture_data import ACCUMULATOR_SYMBOLS, StepVectors, step_vectors
from .style import Look, colour, dash, legend_labels, look

ARROW_KINDS = ("momentum", "first_moment", "gradient", "update", "lookahead")
# The `arrows` option's names: "velocity" switches on both the velocity and the first moment.
ARROW_OPTIONS = {"gradient": ("gradient",), "velocity": ("momentum", "first_moment"), "update": ("update",),
                 "lookahead": ("lookahead",), "accumulator": ("accumulator",)}
# Legend names, short so the legend is one or two rows at 1280×720; ARROW_MEANINGS says them in full.
ARROW_NAMES = {
    "momentum": "velocity",
    "first_moment": "−η m̂",
    "gradient": "−η∇f",
    "update": "Δθ",
    "lookahead": "look-ahead",
    "accumulator": "√v box",
}
ARROW_MEANINGS = {
    "momentum": "velocity: the momentum carried in",
    "first_moment": "−η m̂: the first moment's step, before the division",
    "gradient": "−η∇f: the plain gradient step",
    "update": "Δθ: the update taken",
    "lookahead": "look-ahead: the point where Nesterov's gradient is taken",
    "accumulator": "√v box: its sides ∝ each coordinate's denominator √(accumulator)",
    "axes": "axes: the exact Hessian's eigenvectors at θ, lengths ∝ 1/√|λ| (dotted where λ ≤ 0)",
}
ARROW_COLOURS = {"momentum": "#1B7837", "first_moment": "#1B7837", "gradient": "#B2182B", "update": "#111111",
                 "lookahead": "#762A83", "accumulator": "#2166AC"}
ARROW_SHARE = 0.35  # the longest arrow over the run: this fraction of the view's shorter side
BOX_SHARE = 0.2     # the largest accumulator box side: this fraction of the view's shorter side
NICE = (1.0, 2.0, 2.5, 5.0)
SCALE_META = "arrow_scale"  # layout.meta keys: the arrows' and the boxes' scale
BOX_META = "box_scale"


def nice_scale(raw: float) -> float:
    """The largest of 1, 2, 2.5, 5 × 10^k not above `raw` (1 if `raw` is not a positive number):
    a scale a legend can say in words."""
    if not (raw > 0 and math.isfinite(raw)):
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    return max(m * power for m in NICE if m * power <= raw * (1 + 1e-12))


def arrow_scale(vectors: Sequence[StepVectors], bounds: Bounds, kinds: Sequence[str]) -> float:
    """One scale for every arrow of every run: the longest arrow drawn from a point inside the
    view is `ARROW_SHARE` of the view's shorter side, rounded down to a `nice_scale` (1: the
    arrows at true length, the update landing on the next point)."""
    longest = 0.0
    for data in vectors:
        inside = _inside(data.points[:, :-1], bounds)
        for kind in kinds:
            vector = _vector(data, kind)
            if vector is None:
                continue
            lengths = np.hypot(vector[..., 0], vector[..., 1])[inside]
            lengths = lengths[np.isfinite(lengths)]
            if len(lengths):
                longest = max(longest, float(lengths.max()))
    side = min(bounds[0][1] - bounds[0][0], bounds[1][1] - bounds[1][0])
    return nice_scale(ARROW_SHARE * side / longest) if longest > 0 else 1.0


def lecture_figure(landscape: Landscape, runs: Sequence[Run], *, step: int | None = None,
                   arrows: Sequence[str] = ("gradient", "velocity", "update", "lookahead"),
                   scale: float | None = None, presentation: bool = False, bounds: Bounds | None = None,
                   labels: Sequence[str] | None = None, slots: Sequence[int] | None = None,
                   accumulator: bool = True, max_frames: int = 400, height: int | None = None,
                   eigen_axes: int | None = None, title: str | None = None) -> go.Figure:
    """The contour with every run's path and, at the current point of each start, its update
    taken apart in arrows; one frame per step, named by the step ("0", "1", …).

    - `runs`: from `simulate(..., record="full")`; one to three is what a lecture shows.
    - `arrows`: which arrows to draw, each its own legend group (a click on its legend entry
      hides or shows it): "gradient" (−η_t g_t, the plain gradient step), "velocity" (the
      velocity carried in, for momentum methods; −η_t m̂_t, for Adam's family), "update"
      (Δθ, the step taken) and "lookahead" (where look-ahead Nesterov takes its gradient).
      For momentum methods the gradient arrow starts at the velocity arrow's tip: the two add
      up to the update (for look-ahead Nesterov the tip is the look-ahead point at scale 1).
    - `scale`: every arrow drawn is `scale` × its vector, its end at base + scale·vector (the
      vectors are in parameter units, see `lecture_data`); None: `arrow_scale`. A legend line
      says what a length means; the scale is also in ``layout.meta["arrow_scale"]``.
    - `accumulator`: for optimizers with an accumulated squared gradient (their state names,
      see `lecture_data.ACCUMULATORS`), a box centred on the current point whose sides are
      proportional to that coordinate's denominator (√G, √v̂, …): a tall box is a damped y.
    - `step`: the step the figure opens at (default 0); frames: every step up to `max_frames`.
    - `labels`, `slots`: legend names and palette slots per run, as in `comparison_figure`.
    - `title`: the figure's title (default: the landscape's; "" for none, the page says it).
    - `eigen_axes`: the index of a run whose current point (first start) gets the exact
      Hessian's eigenvectors there drawn as two axes, moving with the step (`eigen_axes_at`):
      the long axis along the smaller |λ|, lengths ∝ 1/√|λ| like the local quadratic's level
      ellipse, solid where λ > 0 and dotted where λ ≤ 0 (a saddle's downhill direction).
    """
    labels = list(labels) if labels is not None else legend_labels(runs)
    slots = list(slots) if slots is not None else list(range(len(runs)))
    bounds = bounds or landscape.bounds
    sizes = look(presentation)
    vectors = [step_vectors(run) for run in runs]
    kinds = [kind for option in arrows for kind in ARROW_OPTIONS[option] if kind != "accumulator"]
    if scale is None:
        scale = arrow_scale(vectors, bounds, kinds)
    box_scale = _box_scale(vectors, bounds) if accumulator else None
    steps = max((run.steps for run in runs), default=0)
    shown, current = _shown(steps, step, max_frames)

    static = [click_targets(bounds)]
    for index, (data, label, slot) in enumerate(zip(vectors, labels, slots, strict=True)):
        for start, path in enumerate(data.points):
            static.append(_path(path, label, slot, index, start, sizes))
    static.append(_markers([p for d in vectors for p in d.points[:, 0]], "starts", "circle-open", "black", sizes))
    static.append(_markers([(m.x, m.y) for m in landscape.minima], "minima", "star", "white", sizes))
    notes = [_scale_text(scale)] + ([_box_text(box_scale, vectors)] if box_scale is not None else [])

    moving = _lecture_moving(vectors, kinds, scale, box_scale, slots, sizes)
    updates = _lecture_updates(vectors, kinds, scale, box_scale)
    if eigen_axes is not None:
        axes = eigen_axes_at(landscape, vectors[eigen_axes].points[0], bounds)
        moving += _axes_traces(sizes)
        updates += [_axes_update(axes, i) for i in range(4)]
    first = len(static)
    indices = list(range(first, first + len(moving)))
    frames = [{"name": str(int(k)), "traces": indices, "data": [trace(int(k)) for trace in updates]}
              for k in shown]
    opening = frames[current]["data"]
    for trace, update in zip(moving, opening, strict=True):
        trace.update(update)
    (x0, x1), (y0, y1) = bounds
    if height is None:
        height = int(np.clip(520 * (y1 - y0) / (x1 - x0) + 200, 420, 760))
        if presentation:
            height = max(height, 680)
    layout = _layout(landscape.title if title is None else title, sizes, height, len(shown))
    if (y1 - y0) / (x1 - x0) >= TALL:  # a tall view leaves room beside it: the legend there, one entry a row
        layout["legend"].update({"orientation": "v", "x": 1.02, "xanchor": "left", "y": 0, "yanchor": "bottom"})
    # What a length means, in the title's row (the legend stays one or two rows at 1280×720).
    layout["annotations"] = [{"name": "scale", "text": " · ".join(notes), "showarrow": False, "x": 1,
                              "xref": "paper", "xanchor": "right", "y": 1, "yref": "paper", "yanchor": "bottom",
                              "font": {"size": sizes.legend}}]
    layout.update({
        "xaxis": {"range": [x0, x1], "title": {"text": ""},  # x is plain: its height goes to the equations
                  "constrain": "domain", "showgrid": False, "zeroline": False, "automargin": True,
                  "tickfont": {"size": sizes.ticks}},
        "yaxis": {"range": [y0, y1], "title": {"text": "y", "font": {"size": sizes.axis_title}}, "scaleanchor": "x",
                  "constrain": "domain", "constraintoward": "bottom",
                  "showgrid": False, "zeroline": False, "automargin": True, "tickfont": {"size": sizes.ticks}},
        "images": [contour_image(landscape, bounds)],
        "meta": {SCALE_META: scale, BOX_META: box_scale, "opening_step": int(shown[current]),
                 "eigen_axes": eigen_axes},
        "sliders": [_slider(shown, current, sizes)],
    })
    return go.Figure(data=[*static, *moving], layout=layout, frames=frames, _validate=False)


TALL = 0.9  # a view this tall (y range / x range) or taller gets its legend beside it, not under it
AXES_SHARE = 0.12  # the long eigen-axis: half of it is this fraction of the view's shorter side
AXES_RATIO = 4.0   # the short axis is at least 1/AXES_RATIO of the long one
AXES_COLOURS = ("#C51B7D", "#DE77AE")  # e₁ (smaller λ), e₂ (larger λ): magenta, no path or arrow has it


def eigen_axes_at(landscape: Landscape, points: np.ndarray, bounds: Bounds) -> dict[str, np.ndarray]:
    """The exact Hessian's eigen-decomposition at each of `points` (T+1, 2), drawn as axes:
    ``eigenvalues`` (T+1, 2) ascending, ``vectors`` (T+1, 2, 2) (column i: unit eigenvector i)
    and ``half`` (T+1, 2): each axis' half-length, ∝ 1/√|λ| (the local quadratic's level
    ellipse), the longer `AXES_SHARE` of the view's shorter side, the shorter at least
    1/`AXES_RATIO` of it. NaN where the point or its Hessian is not finite."""
    points = np.asarray(points, dtype=float)
    count = len(points)
    eigenvalues = np.full((count, 2), np.nan)
    vectors = np.full((count, 2, 2), np.nan)
    finite = np.isfinite(points).all(axis=1)
    if finite.any():
        with np.errstate(all="ignore"):
            hxx, hxy, hyy = (np.broadcast_to(np.asarray(v, dtype=float), (int(finite.sum()),))
                             for v in landscape.hessian(points[finite, 0], points[finite, 1]))
        hessians = np.stack([np.stack([hxx, hxy], -1), np.stack([hxy, hyy], -1)], -2)
        usable = np.isfinite(hessians).all(axis=(1, 2))
        where = np.flatnonzero(finite)[usable]
        if len(where):
            values, columns = np.linalg.eigh(hessians[usable])
            eigenvalues[where], vectors[where] = values, columns
    side = min(bounds[0][1] - bounds[0][0], bounds[1][1] - bounds[1][0])
    with np.errstate(all="ignore"):
        magnitude = np.abs(eigenvalues)
        inverse_root = 1 / np.sqrt(np.maximum(magnitude, 1e-300))
        relative = inverse_root / inverse_root.max(axis=1, keepdims=True)
        half = AXES_SHARE * side * np.clip(relative, 1 / AXES_RATIO, 1)
    return {"eigenvalues": eigenvalues, "vectors": vectors, "half": half, "points": points}


def _axes_traces(sizes: Look) -> list[dict]:
    """Four moving traces: e₁ and e₂, each solid (λ > 0) and dotted (λ ≤ 0); one legend entry."""
    traces = []
    for i in range(2):
        for positive in (True, False):
            traces.append({"type": "scatter", "mode": "lines", "legendgroup": "eigen_axes",
                           "name": "Hessian axes",
                           "showlegend": i == 0 and positive, "hoverinfo": "skip",
                           "line": {"color": AXES_COLOURS[i], "width": sizes.line * 0.75,
                                    "dash": "solid" if positive else "dot"},
                           "xaxis": "x", "yaxis": "y"})
    return traces


def _axes_update(axes: dict[str, np.ndarray], trace: int):
    """Trace `trace` of `_axes_traces` (axis trace // 2, solid if trace is even) at step k."""
    index, positive = trace // 2, trace % 2 == 0

    def update(k: int) -> dict:
        k = min(k, len(axes["points"]) - 1)
        value, half = axes["eigenvalues"][k, index], axes["half"][k, index]
        if not (np.isfinite(value) and np.isfinite(half)) or (value > 0) != positive:
            return {"x": [None, None], "y": [None, None]}
        centre, direction = axes["points"][k], axes["vectors"][k, :, index]
        ends = [centre - half * direction, centre + half * direction]
        return {"x": [_number(e[0]) for e in ends], "y": [_number(e[1]) for e in ends]}

    return update


def arrow_segments(bases: np.ndarray, vectors: np.ndarray, scale: float) -> tuple[list, list]:
    """x and y lists of arrows from `bases` (M, 2) along `scale`·`vectors` (M, 2): base, tip,
    gap for each (None where an arrow is not finite: nothing drawn)."""
    xs: list = []
    ys: list = []
    for base, vector in zip(bases, vectors, strict=True):
        tip = base + scale * vector
        if np.isfinite(base).all() and np.isfinite(tip).all():
            xs += [float(base[0]), float(tip[0]), None]
            ys += [float(base[1]), float(tip[1]), None]
        else:
            xs += [None, None, None]
            ys += [None, None, None]
    return xs, ys


def _vector(data: StepVectors, kind: str) -> np.ndarray | None:
    if kind == "gradient":
        return data.gradient_step
    if kind == "update":
        return data.update
    if kind == "lookahead":
        return None if data.lookahead is None else data.lookahead - data.points[:, :-1]
    return getattr(data, kind)


def _arrow_base(data: StepVectors, kind: str, k: int, scale: float) -> np.ndarray:
    """Where arrow `kind` starts at step k, (N, 2): the current point, except the gradient step
    of a momentum method, which starts at the tip of the velocity arrow (the two add up to Δθ)."""
    here = data.points[:, k]
    if kind == "gradient" and data.momentum is not None:
        return here + scale * data.momentum[:, k]
    return here


def _lecture_moving(vectors: Sequence[StepVectors], kinds: Sequence[str], scale: float, box_scale: float | None,
                    slots: Sequence[int], sizes: Look) -> list[dict]:
    """The moving traces with their style (the data comes from `_lecture_updates`)."""
    traces = [{"type": "scatter", "mode": "markers", "name": "now", "showlegend": False,
               "marker": {"size": 12 * sizes.marker, "color": [colour(slots[i]) for i, d in enumerate(vectors)
                                                               for _ in d.points],
                          "line": {"color": "white", "width": 1.5 * sizes.marker}},
               "hovertemplate": "(%{x:.4g}, %{y:.4g})<extra></extra>", "xaxis": "x", "yaxis": "y"}]
    shown_kinds: set[str] = set()
    for data in vectors:
        count = len(data.points)
        for kind in kinds:
            if _vector(data, kind) is None:
                continue
            traces.append(_arrow_style(kind, count, kind not in shown_kinds, sizes))
            shown_kinds.add(kind)
        if box_scale is not None and data.root is not None:
            traces.append({"type": "scatter", "mode": "lines", "name": ARROW_NAMES["accumulator"],
                           "legendgroup": "accumulator", "showlegend": "accumulator" not in shown_kinds,
                           "line": {"color": ARROW_COLOURS["accumulator"], "width": 1.5 * sizes.line / 2 + 1},
                           "fill": "toself", "fillcolor": "rgba(33,102,172,0.12)", "hoverinfo": "skip",
                           "xaxis": "x", "yaxis": "y"})
            shown_kinds.add("accumulator")
    return traces


def _arrow_style(kind: str, count: int, first: bool, sizes: Look) -> dict:
    head = 11 * sizes.marker
    if kind == "lookahead":
        marker = {"symbol": [s for _ in range(count) for s in ("circle", "diamond-open", "circle")],
                  "size": [s for _ in range(count) for s in (0, head, 0)], "color": ARROW_COLOURS[kind],
                  "line": {"width": 2 * sizes.marker}}
        line = {"color": ARROW_COLOURS[kind], "width": sizes.line / 2 + 0.5, "dash": "dot"}
    else:
        marker = {"symbol": "arrow", "angleref": "previous", "size": [s for _ in range(count) for s in (0, head, 0)],
                  "color": ARROW_COLOURS[kind]}
        line = {"color": ARROW_COLOURS[kind], "width": sizes.line * (1.25 if kind == "update" else 1)}
    return {"type": "scatter", "mode": "lines+markers", "name": ARROW_NAMES[kind], "legendgroup": kind,
            "showlegend": first, "line": line, "marker": marker, "hoverinfo": "skip", "xaxis": "x", "yaxis": "y"}


def _lecture_updates(vectors: Sequence[StepVectors], kinds: Sequence[str], scale: float,
                     box_scale: float | None) -> list:
    """One function per moving trace, step -> {"x", "y"}, in the order of `_lecture_moving`."""

    def heads(k: int) -> dict:
        points = [p[min(k, len(p) - 1)] for d in vectors for p in d.points]
        return {"x": [_number(p[0]) for p in points], "y": [_number(p[1]) for p in points]}

    updates = [heads]
    for data in vectors:
        for kind in kinds:
            vector = _vector(data, kind)
            if vector is None:
                continue
            updates.append(_arrow_update(data, kind, vector, scale))
        if box_scale is not None and data.root is not None:
            updates.append(_box_update(data, box_scale))
    return updates


def _arrow_update(data: StepVectors, kind: str, vector: np.ndarray, scale: float):
    def update(k: int) -> dict:
        if k >= vector.shape[1]:  # θ_T: no update from here
            empty = [None] * (3 * len(data.points))
            return {"x": empty, "y": list(empty)}
        if kind == "lookahead":  # a point, at its true place: the segment from θ_k leads to it
            xs, ys = arrow_segments(data.points[:, k], vector[:, k], 1.0)
        else:
            xs, ys = arrow_segments(_arrow_base(data, kind, k, scale), vector[:, k], scale)
        return {"x": xs, "y": ys}

    return update


def _box_update(data: StepVectors, box_scale: float):
    def update(k: int) -> dict:
        xs: list = []
        ys: list = []
        for start in range(len(data.points)):
            if k >= data.root.shape[1] or not np.isfinite(data.root[start, k]).all():
                xs += [None] * 6
                ys += [None] * 6
                continue
            cx, cy = data.points[start, k]
            hx, hy = 0.5 * box_scale * data.root[start, k]
            xs += [cx - hx, cx + hx, cx + hx, cx - hx, cx - hx, None]
            ys += [cy - hy, cy - hy, cy + hy, cy + hy, cy - hy, None]
        return {"x": [_number(v) if v is not None else None for v in xs],
                "y": [_number(v) if v is not None else None for v in ys]}

    return update


def _box_scale(vectors: Sequence[StepVectors], bounds: Bounds) -> float | None:
    largest = 0.0
    for data in vectors:
        if data.root is None:
            continue
        roots = data.root[_inside(data.points[:, :-1], bounds)]
        roots = roots[np.isfinite(roots)]
        if len(roots):
            largest = max(largest, float(roots.max()))
    if largest <= 0:
        return None
    side = min(bounds[0][1] - bounds[0][0], bounds[1][1] - bounds[1][0])
    return nice_scale(BOX_SHARE * side / largest)


def _scale_text(scale: float) -> str:
    if scale == 1:
        return "arrows at true length"
    return f"arrows ×{scale:g} (1 long = {1 / scale:.3g} in θ)"


def _box_text(box_scale: float, vectors: Sequence[StepVectors]) -> str:
    symbols = sorted({ACCUMULATOR_SYMBOLS[d.accumulator] for d in vectors if d.accumulator})
    name = " / ".join(f"√{s}" if s != "u" else s for s in symbols)
    return f"box side 1 = {name} of {1 / box_scale:.3g}"


def _inside(points: np.ndarray, bounds: Bounds) -> np.ndarray:
    (x0, x1), (y0, y1) = bounds
    with np.errstate(invalid="ignore"):
        return ((points[..., 0] >= x0) & (points[..., 0] <= x1) & (points[..., 1] >= y0) & (points[..., 1] <= y1))


def _shown(steps: int, step: int | None, max_frames: int) -> tuple[np.ndarray, int]:
    shown = frame_steps(steps, max_frames)
    wanted = 0 if step is None else min(max(int(step), 0), steps)
    shown = np.union1d(shown, [wanted])
    return shown, int(np.searchsorted(shown, wanted))


def _path(path: np.ndarray, label: str, slot: int, run: int, start: int, sizes: Look) -> dict:
    finite = np.where(np.isfinite(path), path, np.nan)
    return {"type": "scatter", "x": finite[:, 0], "y": finite[:, 1], "mode": "lines+markers", "name": label,
            "legendgroup": label, "showlegend": start == 0, "legendrank": 1 + run, "opacity": 0.85,
            "line": {"color": colour(slot), "width": sizes.line * 0.75, "dash": dash(slot)},
            "marker": {"size": 4 * sizes.marker, "color": colour(slot)},
            "hovertemplate": "step %{pointNumber}: (%{x:.4g}, %{y:.4g})<extra>" + label + "</extra>",
            "xaxis": "x", "yaxis": "y"}


def _markers(points: Sequence, name: str, symbol: str, fill: str, sizes: Look) -> dict:
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    return {"type": "scatter", "x": points[:, 0], "y": points[:, 1], "mode": "markers", "name": name,
            "showlegend": False, "marker": {"symbol": symbol, "size": 12 * sizes.marker, "color": fill,
                                            "line": {"color": "black", "width": 1.5 * sizes.marker}},
            "hovertemplate": name + " (%{x:.3g}, %{y:.3g})<extra></extra>", "xaxis": "x", "yaxis": "y"}


def _number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _layout(title: str, sizes: Look, height: int, frames: int) -> dict:
    below = 2.6 * sizes.ticks + 1.6 * sizes.axis_title + 10
    return {
        "height": height, "font": {"size": sizes.ticks}, "plot_bgcolor": "white", "hovermode": "closest",
        "margin": {"l": 20, "r": 20, "t": int(2.2 * sizes.title + 16 if title else 1.6 * sizes.legend + 8),
                   "b": int(below + 3.6 * sizes.ticks + 40)},
        "title": {"text": title, "x": 0.01, "xanchor": "left", "y": 1, "yref": "container", "yanchor": "top",
                  "pad": {"t": 12}, "font": {"size": sizes.title}},
        # Under the x ticks (paper units: the plot area's height is what is left of `height`).
        "legend": {"orientation": "h", "x": 0.0, "xanchor": "left", "yanchor": "top", "yref": "paper",
                   "y": -(1.5 * sizes.ticks + 6) / max(height - 2.2 * sizes.title - 90, 120),
                   "font": {"size": max(12, round(0.85 * sizes.legend))}, "groupclick": "togglegroup"},
    }


def _slider(shown: np.ndarray, current: int, sizes: Look) -> dict:
    """Plotly's own step slider, for the HTML export (the chart component drops it for its own)."""
    jump = {"frame": {"duration": 0, "redraw": False}, "transition": {"duration": 0}, "mode": "immediate"}
    return {"active": current, "x": 0.0, "len": 1.0, "y": 0, "yanchor": "top", "pad": {"t": 2.6 * sizes.ticks + 30},
            "currentvalue": {"prefix": "step ", "font": {"size": sizes.ticks}}, "font": {"size": sizes.ticks},
            "steps": [{"label": str(int(k)), "method": "animate", "args": [[str(int(k))], jump]} for k in shown]}


# -- state over time ------------------------------------------------------------------------

STATE_PANELS = {
    "loss": "loss f(θ)",
    "update": "|Δθ| per coordinate",
    "effective_step": "effective step per coordinate",
    "root": "denominator per coordinate",
    "velocity": "velocity / −η m̂ (step units)",
}
COORDINATE_DASH = {0: "solid", 1: "dot"}


def state_panels(vectors: Sequence[StepVectors]) -> list[str]:
    """The panels `state_figure` draws for these runs, in order: those some run has."""
    panels = ["loss", "update", "effective_step"]
    if any(d.root is not None for d in vectors):
        panels.append("root")
    if any(d.momentum is not None or d.first_moment is not None for d in vectors):
        panels.append("velocity")
    return panels


def state_series(data: StepVectors, panel: str, losses: np.ndarray) -> np.ndarray | None:
    """What panel `panel` plots for the first start of one run: (T+1,) for the loss, (T, 2) else."""
    if panel == "loss":
        return losses
    if panel == "update":
        return np.abs(data.update[0])
    if panel == "effective_step":
        return data.effective_step[0]
    if panel == "root":
        return None if data.root is None else data.root[0]
    velocity = data.momentum if data.momentum is not None else data.first_moment
    return None if velocity is None else velocity[0]


LOG_DECADES = 1.5  # a state panel is drawn on a log axis when its values span this many decades or more


def _decades(points: list) -> float:
    """How many decades the panel's finite values span (log axes under one or two label 2, 5, 2, 5...)."""
    values = np.abs(np.concatenate([np.asarray(v, dtype=float) for v, _ in points])) if points else np.array([])
    values = values[np.isfinite(values) & (values > 0)]
    return float(np.log10(values.max() / values.min())) if values.size else 0.0


def state_figure(runs: Sequence[Run], *, step: int | None = None, presentation: bool = False,
                 labels: Sequence[str] | None = None, slots: Sequence[int] | None = None,
                 max_frames: int = 400, height: int | None = None) -> go.Figure:
    """Small multiples of each run's state over the steps (its first start), stacked, one shared
    step axis: loss, |Δθ| per coordinate, the effective step per coordinate (η/(√v̂+ε) and the
    like; −Δθ/g for methods without a denominator), the adaptive denominator, and the velocity
    or first moment in step units. x solid, y dotted; a marker at the current step moves in
    the frames, named by step like `lecture_figure`'s (step k: θ_k and the update from it).
    """
    labels = list(labels) if labels is not None else legend_labels(runs)
    slots = list(slots) if slots is not None else list(range(len(runs)))
    sizes = look(presentation)
    vectors = [step_vectors(run) for run in runs]
    panels = state_panels(vectors)
    steps = max((run.steps for run in runs), default=0)
    shown, current = _shown(steps, step, max_frames)
    figure = make_subplots(rows=len(panels), cols=1, shared_xaxes=True,
                           vertical_spacing=0.075 if presentation else 0.045,
                           subplot_titles=[STATE_PANELS[p] for p in panels])
    static: list[dict] = []
    moving_sources: list[tuple[str, list]] = []
    for row, panel in enumerate(panels, start=1):
        axis = "" if row == 1 else str(row)
        points = []
        for data, run, label, slot in zip(vectors, runs, labels, slots, strict=True):
            series = state_series(data, panel, run.losses[0])
            if series is None:
                continue
            columns = [series] if series.ndim == 1 else [series[:, 0], series[:, 1]]
            for coordinate, values in enumerate(columns):
                name = label if series.ndim == 1 else f"{label}, {'xy'[coordinate]}"
                static.append({"type": "scatter", "x0": 0, "dx": 1, "y": _finite(values), "mode": "lines",
                               "name": label, "legendgroup": label,
                               "showlegend": row == 1 and coordinate == 0,
                               "line": {"color": colour(slot), "width": sizes.line * 0.75,
                                        "dash": COORDINATE_DASH[coordinate]},
                               "hovertemplate": "step %{x}: %{y:.4g}<extra>" + name + "</extra>",
                               "xaxis": f"x{axis}", "yaxis": f"y{axis}"})
                points.append((values, slot))
        moving_sources.append((axis, points))
        positive = all(np.nanmin(np.abs(v), initial=np.inf) > 0 for v, _ in points)
        log = positive and panel not in ("velocity", "root") and _decades(points) >= LOG_DECADES
        figure.update_yaxes(type="log" if log else "linear", exponentformat="power", row=row, col=1,
                            tickfont={"size": sizes.ticks}, tickformat="" if log else ".4~g",
                            nticks=3)  # a panel is a few lines of text tall: more labels overlap
        flat = _flat_range(points, log)
        if flat is not None:  # a constant (SGD's effective step lr): a flat line, not its round-off magnified
            figure.update_yaxes(range=flat, row=row, col=1)
    figure.update_xaxes(title_text="step", row=len(panels), col=1, title_font={"size": sizes.axis_title},
                        range=[-0.02 * max(steps, 1), 1.02 * max(steps, 1)], tickfont={"size": sizes.ticks})

    def marker_update(points: list, k: int) -> dict:
        return {"x": [k] * len(points), "y": [_number(v[k]) if k < len(v) else None for v, _ in points]}

    moving = [{"type": "scatter", "mode": "markers", "name": "step", "showlegend": False,
               "marker": {"size": 9 * sizes.marker, "color": [colour(slot) for _, slot in points],
                          "line": {"color": "black", "width": sizes.marker}},
               "hovertemplate": "step %{x}: %{y:.4g}<extra></extra>", "xaxis": f"x{axis}", "yaxis": f"y{axis}",
               **marker_update(points, int(shown[current]))}
              for axis, points in moving_sources]
    first = len(static)
    frames = [{"name": str(int(k)), "traces": list(range(first, first + len(moving))),
               "data": [marker_update(points, int(k)) for _, points in moving_sources]} for k in shown]
    for trace in [*static, *moving]:
        figure.add_trace(trace)
    figure.frames = frames
    figure.update_annotations(font_size=sizes.ticks + 2)  # subplot titles: clear of the panel above
    figure.update_layout(height=height or (180 * len(panels) + 120) * (1.3 if presentation else 1),
                         font={"size": sizes.ticks}, plot_bgcolor="white",
                         margin={"l": 20, "r": 20, "t": 40, "b": 40}, hovermode="closest",
                         showlegend=False,  # the contour's legend names the runs, in the same colours
                         sliders=[_slider(shown, current, sizes)])
    return figure


def _flat_range(points: list, log: bool) -> list[float] | None:
    """An axis range around the panel's values if they are one number to 1e-9 (None otherwise)."""
    values = np.concatenate([np.asarray(v, dtype=float).ravel() for v, _ in points]) if points else np.array([])
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    low, high = float(values.min()), float(values.max())
    if high - low > 1e-9 * max(abs(high), abs(low), 1e-300):
        return None
    if log:
        return [math.log10(high) - 1, math.log10(high) + 1]
    margin = abs(high) * 0.5 or 1.0
    return [low - margin, high + margin]


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


# -- phase plane --------------------------------------------------------------------------------

def eigen_directions(landscape: Landscape, centre: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The Hessian's eigenvalues (ascending) and unit eigenvectors (columns) at `centre`."""
    hxx, hxy, hyy = (float(np.asarray(v)) for v in landscape.hessian(np.float64(centre[0]), np.float64(centre[1])))
    values, vectors = np.linalg.eigh(np.array([[hxx, hxy], [hxy, hyy]]))
    vectors = vectors * np.where(vectors.sum(axis=0) < 0, -1, 1)  # a stable orientation: mostly positive
    return values, vectors


def phase_centre(landscape: Landscape, run: Run, start: int = 0) -> np.ndarray:
    """The point the phase plane is measured from: the known minimum nearest to the run's last
    point, else its start."""
    final = run.points[start, -1]
    index = int(landscape.nearest_minimum_index(final[None])[0]) if landscape.minima else -1
    if index < 0:
        return run.points[start, 0].copy()
    minimum = landscape.minima[index]
    return np.array([minimum.x, minimum.y])


def phase_coordinates(landscape: Landscape, run: Run, start: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions (T+1, 2), velocities (T+1, 2), eigenvalues (2,)) along the Hessian's
    eigen-directions at `phase_centre`: position (θ_k − θ*)·e_i, velocity (θ_k − θ_{k−1})·e_i
    (0 at k = 0): the heavy ball's state, in which momentum's spirals and zigzags show."""
    centre = phase_centre(landscape, run, start)
    values, directions = eigen_directions(landscape, centre)
    points = run.points[start]
    positions = (points - centre) @ directions
    velocities = np.vstack([np.zeros(2), np.diff(points, axis=0)]) @ directions
    return positions, velocities, values


def phase_figure(landscape: Landscape, run: Run, *, step: int | None = None, start: int = 0,
                 presentation: bool = False, max_frames: int = 400, label: str | None = None,
                 slot: int = 0) -> go.Figure:
    """Velocity against position along each eigen-direction of the Hessian at the minimum (at
    the start where no minimum is known), one panel per direction, the current step marked in
    frames named by step. A spiral is momentum's ripple, a zigzag across 0 an oscillation."""
    sizes = look(presentation)
    positions, velocities, values = phase_coordinates(landscape, run, start)
    _, directions = eigen_directions(landscape, phase_centre(landscape, run, start))
    label = label or legend_labels([run])[0]
    titles = [f"along e{i + 1} = ({directions[0, i]:.3g}, {directions[1, i]:.3g}), λ{i + 1} = {values[i]:.4g}"
              for i in range(2)]
    figure = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.1)
    for i in range(2):
        figure.add_trace({"type": "scatter", "x": _finite(positions[:, i]), "y": _finite(velocities[:, i]),
                          "mode": "lines+markers", "name": label, "showlegend": i == 0,
                          "line": {"color": colour(slot), "width": sizes.line * 0.75},
                          "marker": {"size": 4 * sizes.marker, "color": colour(slot)},
                          "hovertemplate": "step %{pointNumber}: position %{x:.4g}, velocity %{y:.4g}<extra></extra>"},
                         row=1, col=i + 1)
        figure.update_xaxes(title_text="position (θ − θ*)·e", row=1, col=i + 1, zeroline=True,
                            title_font={"size": sizes.axis_title}, tickfont={"size": sizes.ticks})
        figure.update_yaxes(title_text="velocity (θ_k − θ_{k−1})·e", row=1, col=i + 1, zeroline=True,
                            title_font={"size": sizes.axis_title}, tickfont={"size": sizes.ticks})
    shown, current = _shown(run.steps, step, max_frames)

    def marker(i: int, k: int) -> dict:
        return {"x": [_number(positions[k, i])], "y": [_number(velocities[k, i])]}

    for i in range(2):
        figure.add_trace({"type": "scatter", "mode": "markers", "name": "now", "showlegend": False,
                          "marker": {"size": 13 * sizes.marker, "color": colour(slot),
                                     "line": {"color": "black", "width": 1.5 * sizes.marker}},
                          **marker(i, int(shown[current]))}, row=1, col=i + 1)
    figure.frames = [{"name": str(int(k)), "traces": [2, 3], "data": [marker(0, int(k)), marker(1, int(k))]}
                     for k in shown]
    figure.update_annotations(font_size=sizes.axis_title)
    figure.update_layout(height=(420 if not presentation else 560), font={"size": sizes.ticks},
                         plot_bgcolor="white", margin={"l": 20, "r": 20, "t": 50, "b": 40},
                         sliders=[_slider(shown, current, sizes)])
    return figure
