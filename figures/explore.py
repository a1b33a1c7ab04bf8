"""The Explore figures: the basin map (one image layer), the sweep heatmap, tuning score curves and the
schedules gallery; plus the CSV of each. Inputs are `explore`'s results; no Streamlit.

The basin map is drawn for the chart component (plotly.js' basic bundle: scatter and layout images, no
heatmap), so its cells are ONE PNG in the layout, not 40,000 markers; what a cell says on hover comes from
invisible traces over it (`basin_hover_traces`, a few bytes a cell). The sweep heatmap is drawn by
Streamlit's full Plotly (st.plotly_chart, whose box selection the page zooms with).
"""

from __future__ import annotations

import base64
import csv
import io
import math
from collections.abc import Sequence
from dataclasses import replace

import imageio.v3 as iio
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explore import DIVERGED, METRICS, NOWHERE, SCORES, BasinMap, Sweep, Tuning
from optimizers import SCHEDULES, HyperparameterError, get_optimizer, learning_rates

from .style import PALETTE, look

DIVERGED_RGB = (0, 0, 0)
NOWHERE_RGB = (170, 170, 170)
PALEST = 0.7  # the slowest cells mix this much white into their minimum's colour (never-converged ones too)
CRISP_PIXELS = 600  # the basin image's size a side, at least, before the browser stretches it
BASIN_META = "basin_map"  # layout.meta key: the map's bounds and resolution, for reading clicks
HOVER_BLOCK = 256  # cells a side one pair of hover axes covers: a cell's index on them is one byte
AXIS_SYMBOLS = {"lr": "lr (η)", "momentum": "momentum (β)", "betas[0]": "β₁", "betas[1]": "β₂", "eps": "ε",
                "alpha": "α (RMSProp decay)", "rho": "ρ", "weight_decay": "weight decay", "dampening": "dampening"}
METRIC_TITLES = {"final_loss": "final loss", "steps_to_tol": "steps to tolerance",
                 "distance": "distance to nearest minimum", "diverged": "fraction diverged", "rate": "rate"}
SCORE_TITLES = {"final_loss": "final loss", "mean_loss": "mean loss over the run", "steps_to_tol": "steps to tolerance"}
LOG_METRICS = ("final_loss", "distance")
THEORY_LEVELS = (0.7, 0.9, 0.99)
LOG_AXES = ("lr", "weight_decay")  # and every eps, tolerance_ and step_sizes[i]: see is_log_axis
BOUNDARY = "#ff3b3b"  # theory's divergence boundary: reads on Viridis, on black and in the legend
LEVELS_SWATCH = "#9e9e9e"  # the legend's mark for theory's (white) rate levels


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def minimum_colour(index: int) -> str:
    """The hue of minimum `index` on the basin map (the palette, black left out: black is diverged)."""
    hues = [c for c in PALETTE if c != "#000000"]
    return hues[index % len(hues)]


def basin_rgb(basins: BasinMap) -> np.ndarray:
    """The map's pixels, (R, C, 3) uint8, top row = highest y: each minimum's hue, paler the more steps
    its start took to reach the tolerance (log scale; palest if it never did), black where the start
    diverged, grey where it ended nowhere."""
    labels, steps = basins.labels, basins.steps
    image = np.empty(labels.shape + (3,))
    image[:] = NOWHERE_RGB
    image[labels == DIVERGED] = DIVERGED_RGB
    # log steps spread over the steps the reached cells took, fastest full colour, slowest palest
    taken = np.log1p(steps[(labels >= 0) & (steps >= 0)])
    low, high = (float(taken.min()), float(taken.max())) if len(taken) else (0.0, 1.0)
    spread = np.clip((np.log1p(np.maximum(steps, 0)) - low) / max(high - low, 1e-12), 0, 1)
    paleness = np.where(steps >= 0, PALEST * spread, PALEST)
    for index in np.unique(labels[labels >= 0]):
        where = labels == index
        hue = _rgb(minimum_colour(int(index)))
        image[where] = hue * (1 - paleness[where, None]) + 255 * paleness[where, None]
    return np.clip(np.round(image[::-1]), 0, 255).astype(np.uint8)


def crisp(rgb: np.ndarray, size: int = CRISP_PIXELS) -> np.ndarray:
    """`rgb` (R, C, 3) with each cell repeated to about `size` pixels a side: browsers and the exporter
    smooth a small image they stretch, and a basin map's cells must stay cells."""
    factor = max(1, math.ceil(size / max(rgb.shape[:2])))
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)


def png_data_url(rgb: np.ndarray) -> str:
    png = iio.imwrite("<bytes>", rgb, extension=".png")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def basin_figure(basins: BasinMap, *, presentation: bool = False, height: int | None = None, hover: bool = True,
                 picked: tuple[float, float] | None = None) -> go.Figure:
    """The basin map: one layout image over the view (`basin_rgb`, pixelated: every cell a square of
    colour), the known minima marked, a legend naming each colour with its share of the starts. `hover`:
    each cell tells its start, what it reached and its steps (`basin_hover_traces`; leave it out of a static
    export); `picked`: a start to ring (the one clicked)."""
    sizes = look(presentation)
    (x0, x1), (y0, y1) = basins.bounds
    counts = basins.counts()
    total = basins.labels.size
    data: list[dict] = []

    def share(label: int) -> str:
        return f"{100 * counts.get(label, 0) / total:.0f} %"

    for index, minimum in enumerate(basins.minima):
        data.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers", "hoverinfo": "skip",
                     "name": f"→ min {index + 1} ({minimum.x:.3g}, {minimum.y:.3g}): {share(index)}",
                     "marker": {"symbol": "square", "size": 14, "color": minimum_colour(index)}})
    for label, colour, name in ((NOWHERE, NOWHERE_RGB, "ended nowhere"), (DIVERGED, DIVERGED_RGB, "diverged")):
        data.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers", "hoverinfo": "skip",
                     "name": f"{name}: {share(label)}",
                     "marker": {"symbol": "square", "size": 14, "color": "rgb({},{},{})".format(*colour),
                                "line": {"color": "#666", "width": 1}}})
    if basins.minima:
        data.append({"type": "scatter", "mode": "markers+text", "name": "known minima",
                     "x": [m.x for m in basins.minima], "y": [m.y for m in basins.minima],
                     "text": [str(i + 1) for i in range(len(basins.minima))], "textposition": "top right",
                     "textfont": {"color": "white", "size": sizes.ticks + 2},
                     "marker": {"symbol": "x", "size": 13 * sizes.marker, "color": "white",
                                "line": {"color": "black", "width": 1}},
                     "hovertemplate": "minimum %{text}: (%{x:.4g}, %{y:.4g})<extra></extra>"})
    if hover:
        data.extend(basin_hover_traces(basins))
    columns, rows = basins.resolution
    layout = {
        "images": [{"source": png_data_url(crisp(basin_rgb(basins))), "xref": "x", "yref": "y", "x": x0, "y": y1,
                    "sizex": x1 - x0, "sizey": y1 - y0, "sizing": "stretch", "xanchor": "left", "yanchor": "top",
                    "layer": "below", "name": "basins"}],
        "xaxis": {"range": [x0, x1], "title": {"text": "x (start)"}, "showgrid": False, "zeroline": False,
                  "constrain": "domain"},
        "yaxis": {"range": [y0, y1], "title": {"text": "y (start)"}, "showgrid": False, "zeroline": False,
                  "scaleanchor": "x", "scaleratio": 1, "constrain": "domain"},
        "height": height or (620 if presentation else 520), "plot_bgcolor": "white", "hovermode": "closest",
        "font": {"size": sizes.ticks},
        "legend": {"x": 1.02, "y": 1, "xanchor": "left", "font": {"size": sizes.legend},
                   "title": {"text": "each start reached"}},
        "margin": {"l": 60, "r": 20, "t": int(2.4 * sizes.title + 10), "b": 50},
        "title": {"text": f"Where {columns} × {rows} starts go: {get_optimizer(basins.optimizer).title}, "
                          f"{basins.steps_run} steps<br><sup>hue: the minimum reached (within {basins.radius:.2g}); "
                          f"paler: more steps until ‖∇f‖ ≤ {basins.tol:g} (log scale, palest: never)</sup>",
                  "x": 0.01, "xanchor": "left", "font": {"size": sizes.title * 0.85}},
        "meta": {BASIN_META: {"bounds": [x0, x1, y0, y1], "columns": columns, "rows": rows}},
    }
    if hover:
        layout.update(_cell_axes(basins))
    if picked is not None and basins.cell_at(*picked) is not None:
        data.append({"type": "scatter", "mode": "markers", "x": [picked[0]], "y": [picked[1]], "name": "picked start",
                     "showlegend": False, "hovertemplate": "the start picked: (%{x:.4g}, %{y:.4g})<extra></extra>",
                     "marker": {"symbol": "circle-open", "size": 16, "color": "white",
                                "line": {"color": "white", "width": 3}}})
    return go.Figure(data=data, layout=layout, _validate=False)


def basin_hover_traces(basins: BasinMap) -> list[dict]:
    """Invisible traces (mode "none": nothing drawn) with a point at every cell centre, so that hovering a
    cell tells its start, what it reached and its steps to the tolerance. One trace per outcome (a minimum,
    nowhere, diverged; split by whether ‖∇f‖ reached tol), so the outcome is the trace's own text; each
    point is its cell's (column, row) on `_cell_axes`, whose tick texts print the start in data units, one
    byte each (a map over 256 cells a side puts the cells past 256 on axes of their own), and carries its
    steps as customdata (one byte under 256, else two): 3 to 4 bytes a cell, not the ~20 of floats and
    strings."""
    row_index, column_index = np.indices(basins.labels.shape)
    row_blocks = -(-len(basins.ys) // HOVER_BLOCK)
    blocks = (column_index // HOVER_BLOCK) * row_blocks + row_index // HOVER_BLOCK  # the pair of axes of a cell
    start = "start (%{x}, %{y})<br>"
    outcomes = [(index, f"→ minimum {index + 1} at ({m.x:.3g}, {m.y:.3g})") for index, m in enumerate(basins.minima)]
    outcomes += [(NOWHERE, f"ended nowhere: no known minimum within {basins.radius:.2g}"), (DIVERGED, "diverged")]
    traces = []
    for label, outcome in outcomes:
        for reached in (True, False):
            if reached:
                template = f"{start}{outcome}<br>‖∇f‖ ≤ {basins.tol:g} after %{{customdata}} steps<extra></extra>"
            elif label == DIVERGED:
                template = f"{start}diverged within {basins.steps_run} steps<extra></extra>"
            else:
                template = f"{start}{outcome}<br>‖∇f‖ never ≤ {basins.tol:g} in {basins.steps_run} steps<extra></extra>"
            kind = (basins.labels == label) & ((basins.steps >= 0) == reached)
            for block in np.unique(blocks[kind]):
                cells = kind & (blocks == block)
                trace = {"type": "scatter", "mode": "none", "xaxis": f"x{2 + block // row_blocks}",
                         "yaxis": f"y{2 + block % row_blocks}", "showlegend": False, "hovertemplate": template,
                         "name": f"cells {label} {'tol' if reached else 'no tol'}",
                         "x": (column_index[cells] % HOVER_BLOCK).astype(np.uint8),
                         "y": (row_index[cells] % HOVER_BLOCK).astype(np.uint8)}
                if reached:
                    steps = basins.steps[cells]
                    trace["customdata"] = steps.astype(np.min_scalar_type(int(steps.max())))
                traces.append(trace)
    return traces


def _cell_axes(basins: BasinMap) -> dict:
    """Axes over the main ones in cell units, drawn as nothing: xaxis2 from column 0, xaxis3 from column 256
    (so a trace's indices fit one byte), yaxis2, yaxis3 likewise for rows. Their tick texts are the cell
    centres' coordinates, which is what plotly.js prints for %{x} and %{y} on hover."""
    hidden = {"showgrid": False, "zeroline": False, "showticklabels": False, "ticks": "", "showline": False,
              "tickmode": "array"}
    axes: dict = {"hoverdistance": -1}
    for letter, centres in (("x", basins.xs), ("y", basins.ys)):
        for block, first in enumerate(range(0, len(centres), HOVER_BLOCK)):
            axes[f"{letter}axis{2 + block}"] = {
                **hidden, "overlaying": letter, "range": [-0.5 - first, len(centres) - 0.5 - first],
                "tickvals": list(range(len(centres[first:first + HOVER_BLOCK]))),
                "ticktext": [f"{c:.4g}" for c in centres[first:first + HOVER_BLOCK]]}
    return axes


def _axis_title(name: str) -> str:
    return AXIS_SYMBOLS.get(name, name)


def is_log_axis(name: str) -> bool:
    """Hyperparameters whose useful values spread over decades: a sweep steps them on a log grid."""
    return name in LOG_AXES or name.startswith(("eps", "tolerance_", "step_sizes["))


def _is_log_axis(name: str, values: np.ndarray) -> bool:
    """A log axis for `is_log_axis` names, when every value is positive."""
    return is_log_axis(name) and bool((values > 0).all())


def sweep_figure(result: Sweep, *, metric: str | None = None, analytic: np.ndarray | None = None,
                 presentation: bool = False, height: int | None = None) -> go.Figure:
    """The sweep as a heatmap of `metric` (default the sweep's), log colour for losses and distances,
    black where a setting diverged (the metric is inf there), the best cell marked with a star. With
    `analytic` ((B, A), e.g. `explore.analytic_rate`): its rate = 1 line (theory's divergence boundary,
    dashed red) and rate levels `THEORY_LEVELS` drawn over the measured cells. An invisible marker at
    every cell centre makes box selection report the cells (the page zooms to the box)."""
    sizes = look(presentation)
    metric = metric or result.metric
    grid = result.metrics[metric]
    shown = np.where(np.isfinite(grid), grid, np.nan)
    log_colour = metric in LOG_METRICS
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log10(np.where(shown > 0, shown, np.nan)) if log_colour else shown
        if log_colour and np.isfinite(shown).any() and not np.isfinite(z).any():
            z = shown  # every finite value is 0: nothing to take a log of
    x_name, y_name = result.names
    xs, ys = result.x_values, result.y_values
    colour_title = METRIC_TITLES.get(metric, metric) + (" (log₁₀)" if log_colour else "")
    data: list[dict] = [{
        "type": "heatmap", "x": xs, "y": ys, "z": _drawn(z), "colorscale": "Viridis", "name": metric,
        "customdata": _drawn(shown), "colorbar": {"title": {"text": colour_title}, "thickness": 14},
        "hovertemplate": f"{x_name} = %{{x:.4g}}<br>{y_name} = %{{y:.4g}}<br>{METRIC_TITLES.get(metric, metric)}"
                         " = %{customdata:.4g}<extra></extra>"}]
    grid_x, grid_y = np.meshgrid(xs, ys)
    data.append({"type": "scatter", "mode": "markers", "x": _drawn(grid_x.ravel()), "y": _drawn(grid_y.ravel()),
                 "name": "cells",
                 "marker": {"size": 4, "color": "rgba(0,0,0,0)"}, "hoverinfo": "skip", "showlegend": False})
    if analytic is not None:
        analytic = _drawn(analytic)
        data.append({"type": "contour", "x": xs, "y": ys, "z": analytic, "name": "theory: rate = 1",
                     "contours": {"start": 1.0, "end": 1.0, "size": 1, "coloring": "none", "showlabels": False},
                     "line": {"color": BOUNDARY, "width": 3, "dash": "dash"}, "showscale": False,
                     "showlegend": True, "hoverinfo": "skip"})
        levels = "theory: rate " + ", ".join(map(str, THEORY_LEVELS)) + " (white, labelled)"
        for level in THEORY_LEVELS:
            data.append({"type": "contour", "x": xs, "y": ys, "z": analytic, "name": levels,
                         "contours": {"coloring": "none", "showlabels": True, "start": level, "end": level, "size": 1,
                                      "labelfont": {"color": "white", "size": sizes.ticks}},
                         "line": {"color": "rgba(255,255,255,0.75)", "width": 1}, "showscale": False,
                         "legendgroup": "levels", "showlegend": False, "hoverinfo": "skip"})
        # the legend's own swatch: a white line would not show on the legend's white
        data.append({"type": "scatter", "mode": "lines", "x": [None], "y": [None], "name": levels,
                     "line": {"color": LEVELS_SWATCH, "width": 2}, "legendgroup": "levels", "hoverinfo": "skip"})
    best = replace(result, metric=metric).best
    if best is not None:
        row, column = best
        data.append({"type": "scatter", "mode": "markers", "x": [xs[column]], "y": [ys[row]],
                     "name": f"best: {x_name} = {xs[column]:.3g}, {y_name} = {ys[row]:.3g}",
                     "marker": {"symbol": "star", "size": 18 * sizes.marker, "color": "#E69F00",
                                "line": {"color": "black", "width": 1.5}},
                     "hovertemplate": "best cell<extra></extra>"})
    spec = get_optimizer(result.optimizer)
    layout = {
        "xaxis": _sweep_axis(x_name, xs), "yaxis": _sweep_axis(y_name, ys),
        "plot_bgcolor": "black", "height": height or (620 if presentation else 520), "font": {"size": sizes.ticks},
        "dragmode": "select", "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.18, "font": {"size": sizes.legend}},
        # no pad: Streamlit's theme pads the plot area by 8 px, which the black background would show as a
        # frame of "diverged" around the cells
        "margin": {"l": 60, "r": 20, "t": int(2.4 * sizes.title + 10), "b": 60, "pad": 0},
        "title": {"text": f"{spec.title}: {METRIC_TITLES.get(metric, metric)} after {result.steps_run} steps, "
                          f"{len(result.starts)} start{'s' if len(result.starts) > 1 else ''}"
                          f"<br><sup>black: diverged{' or never reached tol' if metric == 'steps_to_tol' else ''}; "
                          "drag a box to zoom in</sup>",
                  "x": 0.01, "xanchor": "left", "font": {"size": sizes.title * 0.85}},
    }
    return go.Figure(data=data, layout=layout, _validate=False)


def _drawn(values: np.ndarray) -> np.ndarray:
    """A per-cell array as the browser gets it: float32, half of float64's bytes in the spec (every cell is
    sent 6 times with theory's lines: 100 × 100 settings 1.08 MB in float64). Its 7 digits are more than
    the colours, the contour lines and the hover's 4 can show; the CSV keeps the sweep's float64 values."""
    return np.asarray(values, dtype=np.float32)


def _sweep_axis(name: str, values: np.ndarray) -> dict:
    """A sweep axis spanning exactly the outer edges of its cells (log or linear)."""
    log = _is_log_axis(name, values)
    points = np.log10(values) if log else np.asarray(values, dtype=float)
    half = (points[1] - points[0]) / 2 if len(points) > 1 else 0.5
    last_half = (points[-1] - points[-2]) / 2 if len(points) > 1 else 0.5
    return {"title": {"text": _axis_title(name)}, "type": "log" if log else "linear", "showgrid": False,
            "range": [float(points[0] - half), float(points[-1] + last_half)]}


def tuning_figure(tunings: Sequence[Tuning], *, labels: Sequence[str] | None = None,
                  presentation: bool = False, height: int | None = None) -> go.Figure:
    """Each optimizer's score against its learning rate (log axes), its best rate starred; rates at which
    a start diverged are drawn as crosses along the top edge."""
    sizes = look(presentation)
    data: list[dict] = []
    finite_scores = [t.scores[np.isfinite(t.scores)] for t in tunings]
    all_finite = np.concatenate(finite_scores) if finite_scores else np.array([])
    positive = all_finite[all_finite > 0]
    log_y = bool(len(positive)) and len(positive) == len(all_finite) and tunings[0].score != "steps_to_tol"
    top = float(all_finite.max()) if len(all_finite) else 1.0
    for index, tuning in enumerate(tunings):
        colour = PALETTE[index % len(PALETTE)]
        label = labels[index] if labels else get_optimizer(tuning.optimizer).title
        finite = np.isfinite(tuning.scores)
        data.append({"type": "scatter", "mode": "lines+markers", "x": tuning.lrs[finite], "y": tuning.scores[finite],
                     "name": label, "line": {"color": colour, "width": sizes.line}, "legendgroup": label,
                     "hovertemplate": f"{label}<br>lr = %{{x:.3g}}<br>score = %{{y:.4g}}<extra></extra>"})
        if (~finite).any():
            data.append({"type": "scatter", "mode": "markers", "x": tuning.lrs[~finite],
                         "y": [top] * int((~finite).sum()), "name": f"{label}: diverged", "legendgroup": label,
                         "showlegend": False, "marker": {"symbol": "x", "size": 10, "color": colour},
                         "hovertemplate": f"{label}<br>lr = %{{x:.3g}}: a start diverged<extra></extra>"})
        if tuning.best_index is not None:
            data.append({"type": "scatter", "mode": "markers", "x": [tuning.best_lr],
                         "y": [tuning.scores[tuning.best_index]], "name": f"{label}: best lr {tuning.best_lr:.3g}",
                         "legendgroup": label, "showlegend": False,
                         "marker": {"symbol": "star", "size": 16 * sizes.marker, "color": colour,
                                    "line": {"color": "black", "width": 1}},
                         "hovertemplate": f"{label}: best lr = %{{x:.3g}}<extra></extra>"})
    score = tunings[0].score if tunings else "final_loss"
    layout = {"xaxis": {"type": "log", "title": {"text": "learning rate"}},
              "yaxis": {"type": "log" if log_y else "linear", "title": {"text": SCORES[score]}},
              "height": height or (560 if presentation else 420), "font": {"size": sizes.ticks},
              "legend": {"font": {"size": sizes.legend}}, "hovermode": "closest",
              "margin": {"l": 60, "r": 20, "t": int(2.2 * sizes.title), "b": 50},
              "title": {"text": "score against learning rate (×: a start diverged; ★: the best rate)",
                        "x": 0.01, "xanchor": "left", "font": {"size": sizes.title * 0.85}}}
    return go.Figure(data=data, layout=layout, _validate=False)


def gallery_schedules(base_lr: float, steps: int, warmup: int = 0) -> list[tuple[str, dict, np.ndarray | str]]:
    """(name, schedule dict, rates (steps,) or the reason it cannot run) for constant and every schedule in
    `optimizers.SCHEDULES`, each with its record's default arguments and `warmup` steps in front."""
    entries = []
    for name in ["constant", *SCHEDULES]:
        schedule = {"name": name, **({"warmup": warmup} if warmup else {})}
        try:
            entries.append((name, schedule, learning_rates(base_lr, steps, schedule)))
        except HyperparameterError as error:
            entries.append((name, schedule, str(error)))
    return entries


def schedules_figure(base_lr: float, steps: int, warmup: int = 0, *, selected: str | None = None,
                     presentation: bool = False, columns: int = 4) -> go.Figure:
    """The schedules gallery: one small panel per schedule, lr against step, `warmup` linear warmup steps in
    front of each; the `selected` one drawn thicker in another colour."""
    sizes = look(presentation)
    entries = gallery_schedules(base_lr, steps, warmup)
    rows = math.ceil(len(entries) / columns)
    titles = [name for name, _, _ in entries]  # torch's class names (the slides' own: InverseTimeLR, …)
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=titles, shared_xaxes=True,
                           vertical_spacing=0.35 / rows, horizontal_spacing=0.06)
    for index, (name, _, rates) in enumerate(entries):
        row, column = divmod(index, columns)
        chosen = name == selected
        if isinstance(rates, str):
            figure.add_annotation(text="cannot run: " + rates[:60], row=row + 1, col=column + 1, showarrow=False,
                                  x=steps / 2, y=base_lr / 2, font={"size": sizes.ticks - 2})
            continue
        figure.add_trace(go.Scatter(x=np.arange(steps), y=rates, mode="lines", name=name, showlegend=False,
                                    line={"color": PALETTE[3] if chosen else PALETTE[0],
                                          "width": sizes.line * (2 if chosen else 1)},
                                    hovertemplate=f"{name}<br>step %{{x}}: lr = %{{y:.4g}}<extra></extra>"),
                         row=row + 1, col=column + 1)
        figure.update_yaxes(range=[0, 1.08 * max(float(np.max(rates)), 1e-300)], row=row + 1, col=column + 1)
    figure.update_annotations(font_size=sizes.ticks)
    figure.update_layout(height=150 * rows + 70, margin={"l": 50, "r": 10, "t": 60, "b": 30},
                         font={"size": sizes.ticks - 1},
                         title={"text": f"lr against step: {steps} steps from η₀ = {base_lr:g}"
                                        + (f", {warmup} warmup steps in front" if warmup else ""),
                                "x": 0.01, "xanchor": "left", "font": {"size": sizes.title * 0.85}})
    return figure


# -- CSV -------------------------------------------------------------------------------------
def _csv(header: Sequence[str], rows) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode()


def basin_csv(basins: BasinMap) -> bytes:
    """One row per cell: its start, the minimum reached (1-based; nowhere, diverged), steps to tol, final loss."""
    grid_x, grid_y = np.meshgrid(basins.xs, basins.ys)
    names = {NOWHERE: "nowhere", DIVERGED: "diverged"}
    return _csv(("x", "y", "reached", "steps_to_tol", "final_loss"),
                ((repr(float(x)), repr(float(y)), names.get(int(label), str(int(label) + 1)),
                  int(steps) if steps >= 0 else "", repr(float(loss)))
                 for x, y, label, steps, loss in zip(grid_x.ravel(), grid_y.ravel(), basins.labels.ravel(),
                                                     basins.steps.ravel(), basins.final_losses.ravel(), strict=True)))


def sweep_csv(result: Sweep) -> bytes:
    """One row per setting: both hyperparameters and every metric computed (inf: diverged)."""
    names = list(result.metrics)
    rows = []
    for row, y_value in enumerate(result.y_values):
        for column, x_value in enumerate(result.x_values):
            rows.append([repr(float(x_value)), repr(float(y_value)),
                         *(repr(float(result.metrics[m][row, column])) for m in names)])
    return _csv((*result.names, *names), rows)


def tuning_csv(tunings: Sequence[Tuning]) -> bytes:
    return _csv(("optimizer", "lr", "score", "score_name", "fraction_diverged", "best"),
                ((t.optimizer, repr(float(lr)), repr(float(score)), t.score, repr(float(diverged)),
                  int(i == t.best_index))
                 for t in tunings for i, (lr, score, diverged) in enumerate(zip(t.lrs, t.scores, t.diverged,
                                                                                  strict=True))))


def schedules_csv(base_lr: float, steps: int, warmup: int = 0) -> bytes:
    entries = [(name, rates) for name, _, rates in gallery_schedules(base_lr, steps, warmup)
               if not isinstance(rates, str)]
    return _csv(("step", *(name for name, _ in entries)),
                ([t, *(repr(float(rates[t])) for _, rates in entries)] for t in range(steps)))


__all__ = ["METRICS", "basin_csv", "basin_figure", "basin_hover_traces", "basin_rgb", "gallery_schedules",
           "minimum_colour", "schedules_csv", "schedules_figure", "sweep_csv", "sweep_figure", "tuning_csv",
           "tuning_figure"]
