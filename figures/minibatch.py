"""Mini-batch SGD on a data landscape: a band of shuffled paths with the full-batch and mini-batch
gradient arrows at one step, and Smith et al. 2018's "increase the batch size instead of decaying
the learning rate" side by side. The runs come from `simulate`; the builders only draw them.

>>> from landscapes import data_landscape
>>> land = data_landscape("linear")
>>> band, full = minibatch_runs(land, batch_size=4, steps=40, paths=3, lr=0.1)
>>> minibatch_figure(land, band, full, step=5).layout.meta["step"]
5
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go

from landscapes import DataLandscape
from optimizers import Run, simulate

from .background import contour_image
from .lecture import nice_scale
from .style import colour, look

BAND_COLOUR, FULL_COLOUR, BATCH_ARROW = colour(0), "#000000", colour(3)
CONTOUR_WIDTH = 480  # pixels: the contour fills about half the figure; 900 would cost 3.5× the time
ARROW_SHARE = 0.3  # the longer gradient arrow: this fraction of the view's shorter side
STRATEGIES = ("decay the learning rate", "grow the batch")
BAND = (0.1, 0.9)  # the quantiles over the shuffles that bound the shaded band of batch_growth_figure


def minibatch_runs(land: DataLandscape, *, batch_size: int, steps: int | None = None, epochs: int | None = None,
                   paths: int = 8, seed: int = 0, optimizer: str = "sgd", start: Sequence[float] | None = None,
                   shuffle: bool = True, **settings: Any) -> tuple[Run, Run]:
    """(band, full): `paths` copies of one start, each with its own shuffle (seeded by `seed`; with
    `shuffle` False all visit the samples in dataset order), and full-batch gradient descent from
    the same start for as many steps."""
    start = tuple(land.starts[0] if start is None else start)
    band = simulate(land, optimizer, [start] * paths, steps, batch_size=batch_size, shuffle=shuffle, epochs=epochs,
                    seed=seed, record="full", backend="numpy", **settings)
    full = simulate(land, optimizer, [start], band.steps, record="full", backend="numpy", **settings)
    return band, full


@dataclass(frozen=True)
class GradientPair:
    """At θ_t of one band path: the full gradient ∇f, the mini-batch gradient g_t its step used,
    the angle between them (degrees) and the relative error ‖g_t − ∇f‖/‖∇f‖."""

    step: int
    point: np.ndarray        # (2,)
    full: np.ndarray         # (2,)
    batch: np.ndarray        # (2,)
    samples: np.ndarray      # the batch's sample indices

    @property
    def angle(self) -> float:
        norms = np.linalg.norm(self.full) * np.linalg.norm(self.batch)
        if not norms > 0:
            return math.nan
        return math.degrees(math.acos(float(np.clip(self.full @ self.batch / norms, -1.0, 1.0))))

    @property
    def relative_error(self) -> float:
        size = np.linalg.norm(self.full)
        return float(np.linalg.norm(self.batch - self.full) / size) if size > 0 else math.nan


def gradient_pair(band: Run, step: int, path: int = 0) -> GradientPair:
    """The full and mini-batch gradients at step `step` (0 ≤ step < T) of band path `path`."""
    if not 0 <= step < band.steps:
        raise ValueError(f"step must be in [0, {band.steps - 1}], got {step}")
    point = band.points[path, step]
    full = np.array([g[0] for g in band.landscape.gradient(point[:1], point[1:])])
    samples = band.batches[path, step]
    return GradientPair(step, point.copy(), full, band.grads[path, step].copy(), samples[samples >= 0])


def minibatch_figure(land: DataLandscape, band: Run, full: Run, *, step: int = 0, presentation: bool = False,
                     height: int | None = None) -> go.Figure:
    """Contour with the band of shuffled paths and the full-batch path (left), the two gradient
    arrows at `step` of the first path, and every path's loss against steps (right)."""
    sizes = look(presentation)
    step = int(np.clip(step, 0, max(band.steps - 1, 0)))
    pair = gradient_pair(band, step) if band.steps else None
    (x0, x1), (y0, y1) = land.bounds
    p, q = land.model.parameters
    traces: list[dict] = []
    for i, path_points in enumerate(band.points):
        traces.append({"type": "scatter", "x": path_points[:, 0], "y": path_points[:, 1], "mode": "lines",
                       "line": {"color": BAND_COLOUR, "width": sizes.line * 0.6}, "opacity": 0.45,
                       "name": (f"batch {band.batch_size}, {len(band.points)} shuffles" if band.shuffle
                                else f"batch {band.batch_size}, in dataset order"), "legendgroup": "band",
                       "showlegend": i == 0, "hoverinfo": "skip"})
    traces.append({"type": "scatter", "x": full.points[0, :, 0], "y": full.points[0, :, 1], "mode": "lines",
                   "line": {"color": FULL_COLOUR, "width": sizes.line, "dash": "dash"},
                   "name": f"full batch ({land.samples})"})
    traces.append({"type": "scatter", "x": [m.x for m in land.minima], "y": [m.y for m in land.minima],
                   "mode": "markers", "name": "minimum",
                   "marker": {"symbol": "x", "size": 11 * sizes.marker, "color": FULL_COLOUR}})
    scale = 1.0
    if pair is not None:
        scale = gradient_arrow_scale(pair, land)
        for vector, name, tint in ((pair.full, "−∇f (all samples)", FULL_COLOUR),
                                   (pair.batch, f"−g (this batch of {len(pair.samples)})", BATCH_ARROW)):
            tip = pair.point - scale * vector
            traces.append({"type": "scatter", "x": [pair.point[0], tip[0]], "y": [pair.point[1], tip[1]],
                           "mode": "lines+markers", "name": f"{name} × {scale:g}",
                           "line": {"color": tint, "width": sizes.line * 1.5},
                           "marker": {"symbol": ["circle", "arrow"], "size": [6 * sizes.marker, 14 * sizes.marker],
                                      "angleref": "previous", "color": tint}})
    both, label = _excess(land, np.concatenate([band.losses, full.losses]))  # one scale for both
    excess, full_excess = both[:-1], both[-1:]
    steps_axis = np.arange(band.losses.shape[1])
    for row in excess:
        traces.append({"type": "scatter", "x": steps_axis, "y": row, "mode": "lines", "xaxis": "x2", "yaxis": "y2",
                       "line": {"color": BAND_COLOUR, "width": sizes.line * 0.6}, "opacity": 0.45,
                       "legendgroup": "band", "showlegend": False, "hoverinfo": "skip"})
    traces.append({"type": "scatter", "x": steps_axis, "y": full_excess[0], "mode": "lines", "xaxis": "x2",
                   "yaxis": "y2", "line": {"color": FULL_COLOUR, "width": sizes.line, "dash": "dash"},
                   "showlegend": False, "name": f"full batch ({land.samples})"})
    title = f"{land.model.title}, batch {band.batch_size} of {land.samples}"
    if pair is not None:
        title += f" — step {step}: angle(g, ∇f) {pair.angle:.0f}°, ‖g − ∇f‖/‖∇f‖ = {pair.relative_error:.2f}"
    axis_font = {"size": sizes.axis_title}
    layout = {
        "title": {"text": title, "font": {"size": sizes.title}},
        "height": height or (760 if presentation else 480),
        "margin": {"l": 60, "r": 20, "t": 50, "b": 40}, "plot_bgcolor": "white",
        "font": {"size": sizes.ticks},
        "legend": {"orientation": "h", "y": -0.12, "font": {"size": sizes.legend}},
        "xaxis": {"domain": [0, 0.55], "range": [x0, x1], "title": {"text": p, "font": axis_font},
                  "constrain": "domain", "showgrid": False, "zeroline": False},
        "yaxis": {"range": [y0, y1], "title": {"text": q, "font": axis_font}, "scaleanchor": "x",
                  "constrain": "domain", "showgrid": False, "zeroline": False},
        "xaxis2": {"domain": [0.64, 1], "title": {"text": "step", "font": axis_font}, "anchor": "y2"},
        "yaxis2": {"type": _loss_axis(np.concatenate([excess.ravel(), full_excess.ravel()])),
                   "title": {"text": label, "font": axis_font}, "anchor": "x2"},
        "images": [contour_image(land, land.bounds, width=CONTOUR_WIDTH)],
        "shapes": [{"type": "line", "xref": "x2", "yref": "y2 domain", "x0": step, "x1": step, "y0": 0, "y1": 1,
                    "line": {"color": BATCH_ARROW, "width": 1, "dash": "dot"}}],
        "meta": {"step": step, "arrow_scale": scale,
                 "angle": None if pair is None else pair.angle,
                 "relative_error": None if pair is None else pair.relative_error},
    }
    return go.Figure(data=traces, layout=layout, _validate=False)


def gradient_arrow_scale(pair: GradientPair, land: DataLandscape) -> float:
    """One scale for both arrows: the longer is `ARROW_SHARE` of the view's shorter side, rounded
    down to a nice number (1, 2, 2.5, 5 × 10ᵏ) that the legend states."""
    longest = max(float(np.linalg.norm(pair.full)), float(np.linalg.norm(pair.batch)))
    (x0, x1), (y0, y1) = land.bounds
    return nice_scale(ARROW_SHARE * min(x1 - x0, y1 - y0) / longest) if longest > 0 else 1.0


def _excess(land: DataLandscape, losses: np.ndarray) -> tuple[np.ndarray, str]:
    """f − f* (what a log axis can show) when the minimum is known and losses stay above it, else f."""
    if land.minima:
        best = land.minima[0].value
        excess = losses - best
        if np.nanmin(excess) > -1e-12:
            return np.maximum(excess, 1e-16), "f − f*"
    return losses, "f"


def _loss_axis(values: np.ndarray) -> str:
    """A log axis while every value is positive (the counterexample's f goes below 0 off its box)."""
    return "log" if np.nanmin(values) > 0 else "linear"


# -- Smith et al. 2018: grow the batch instead of decaying the learning rate ------------------------------
@dataclass(frozen=True)
class Schedule:
    """One strategy's phases and what it recorded, for `paths` shuffled copies of one start.

    `batch_sizes` and `lrs` per phase; `epochs` and `updates` (K+1,) along the run; `losses`
    (paths, K+1) the full loss there.
    """

    name: str
    batch_sizes: tuple[int, ...]
    lrs: tuple[float, ...]
    epochs: np.ndarray
    updates: np.ndarray
    losses: np.ndarray


def batch_growth_runs(land: DataLandscape, *, lr: float = 0.1, batch_size: int = 2, factor: int = 4,
                      phases: int = 3, epochs_per_phase: int = 10, paths: int = 8, seed: int = 0,
                      start: Sequence[float] | None = None) -> tuple[Schedule, Schedule]:
    """Plain SGD in `phases` phases of `epochs_per_phase` epochs; at each new phase the noise
    scale lr·M/B falls by `factor`, either by dividing lr (batch fixed) or by multiplying the
    batch (lr fixed; once the batch is the whole dataset, lr takes the rest of the factor, as
    in Smith et al.). Both see the same samples per epoch; growing the batch takes fewer updates.
    Each phase continues from the last points (SGD has no state to carry)."""
    if not (isinstance(factor, int) and factor >= 2 and isinstance(phases, int) and phases >= 1):
        raise ValueError("factor must be a whole number ≥ 2 and phases a whole number ≥ 1")
    m = land.samples
    if not 1 <= batch_size <= m:
        raise ValueError(f"batch_size must be in [1, {m}], got {batch_size}")
    start = tuple(land.starts[0] if start is None else start)
    plans = {STRATEGIES[0]: [(batch_size, lr / factor**k) for k in range(phases)],
             STRATEGIES[1]: [(min(batch_size * factor**k, m), lr * min(batch_size * factor**k, m)
                              / (batch_size * factor**k)) for k in range(phases)]}
    schedules = []
    for name, plan in plans.items():
        points = np.array([start] * paths, dtype=float)
        epochs, updates, losses = [np.zeros(1)], [np.zeros(1)], []
        for k, (size, rate) in enumerate(plan):
            run = simulate(land, "sgd", points, None, lr=rate, batch_size=size, shuffle=True,
                           epochs=epochs_per_phase, seed=seed * 1000 + k, record="path", backend="numpy")
            per_epoch = math.ceil(m / size)
            phase_steps = np.arange(1, run.steps + 1)
            epochs.append(k * epochs_per_phase + phase_steps / per_epoch)
            updates.append(updates[-1][-1] + phase_steps)
            losses.append(run.losses if k == 0 else run.losses[:, 1:])
            points = run.final_points
        schedules.append(Schedule(name, tuple(s for s, _ in plan), tuple(r for _, r in plan),
                                  np.concatenate(epochs), np.concatenate(updates), np.concatenate(losses, axis=1)))
    return schedules[0], schedules[1]


def batch_growth_figure(land: DataLandscape, schedules: Sequence[Schedule], *, presentation: bool = False,
                        height: int | None = None) -> go.Figure:
    """Loss against epochs (left) and against parameter updates (right) for each strategy: the mean
    over the shuffled paths, shaded between their 10th and 90th percentiles."""
    sizes = look(presentation)
    traces = []
    for slot, schedule in enumerate(schedules):
        excess, label = _excess(land, schedule.losses)
        tint = colour(slot + 1)
        legend = (f"{schedule.name}: batch {' → '.join(map(str, schedule.batch_sizes))}, "
                  f"lr {' → '.join(f'{r:.3g}' for r in schedule.lrs)}")
        for panel, x in (("", schedule.epochs), ("2", schedule.updates)):
            axes = {"xaxis": f"x{panel}", "yaxis": f"y{panel}"}
            traces.append({"type": "scatter", "x": np.concatenate([x, x[::-1]]),
                           "y": np.concatenate([np.quantile(excess, BAND[1], axis=0),
                                                np.quantile(excess, BAND[0], axis=0)[::-1]]), "fill": "toself",
                           "fillcolor": tint, "opacity": 0.2, "line": {"width": 0}, "hoverinfo": "skip",
                           "showlegend": False, "legendgroup": schedule.name, **axes})
            traces.append({"type": "scatter", "x": x, "y": excess.mean(0), "mode": "lines", "name": legend,
                           "line": {"color": tint, "width": sizes.line}, "legendgroup": schedule.name,
                           "showlegend": panel == "", **axes})
    axis_font = {"size": sizes.axis_title}
    layout = {
        "title": {"text": "Increase the batch size instead of decaying the learning rate (Smith et al. 2018)",
                  "font": {"size": sizes.title}},
        "height": height or (700 if presentation else 440), "plot_bgcolor": "white",
        "margin": {"l": 60, "r": 20, "t": 60, "b": 50}, "font": {"size": sizes.ticks},
        "legend": {"orientation": "h", "y": -0.2, "font": {"size": sizes.legend}},
        "xaxis": {"domain": [0, 0.46], "title": {"text": "epochs (samples seen / M)", "font": axis_font}},
        "yaxis": {"type": "log", "title": {"text": f"{label} (mean over shuffles)", "font": axis_font}},
        "xaxis2": {"domain": [0.54, 1], "title": {"text": "parameter updates", "font": axis_font}, "anchor": "y2"},
        "yaxis2": {"type": "log", "anchor": "x2", "matches": "y"},
        "meta": {"updates": [int(s.updates[-1]) for s in schedules]},
    }
    return go.Figure(data=traces, layout=layout, _validate=False)


# -- tidy tables for CSV export ---------------------------------------------------------------------------
def minibatch_rows(band: Run, full: Run) -> list[dict[str, Any]]:
    """One row per path and step: path ("full" or the shuffle's index), step, x, y, loss."""
    rows = [{"path": "full", "step": t, "x": float(px), "y": float(py), "loss": float(f)}
            for t, ((px, py), f) in enumerate(zip(full.points[0], full.losses[0], strict=True))]
    for i, (points, losses) in enumerate(zip(band.points, band.losses, strict=True)):
        rows += [{"path": i, "step": t, "x": float(px), "y": float(py), "loss": float(f)}
                 for t, ((px, py), f) in enumerate(zip(points, losses, strict=True))]
    return rows


def batch_growth_rows(schedules: Sequence[Schedule]) -> list[dict[str, Any]]:
    """One row per strategy and recorded point: strategy, epoch, updates, mean/min/max loss."""
    return [{"strategy": s.name, "epoch": float(e), "updates": int(u), "mean_loss": float(row.mean()),
             "min_loss": float(row.min()), "max_loss": float(row.max())}
            for s in schedules for e, u, row in zip(s.epochs, s.updates, s.losses.T, strict=True)]
