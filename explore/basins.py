"""Basin maps: which known minimum each start of a grid over the view reaches, and how fast."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from landscapes import Bounds, Landscape, Minimum, get_landscape
from optimizers import Run, simulate

DIVERGED = -2   # label of a start that diverged
NOWHERE = -1    # label of a start that ended away from every known minimum
RADIUS_FRACTION = 0.01  # default `radius`: this fraction of the view's diagonal
DEFAULT_TOL = 1e-3


@dataclass(frozen=True, eq=False)
class BasinMap:
    """One optimizer from every cell centre of a grid over `bounds`. Arrays are indexed [row, column]
    = [y, x], rows from y0 up: ``xs (C,)``, ``ys (R,)`` (cell centres), ``labels (R, C)`` (index into
    `minima` of the minimum reached, `NOWHERE` = −1, `DIVERGED` = −2), ``steps (R, C)`` (first step
    whose gradient norm is ≤ `tol`, −1 if none), ``final_losses (R, C)``.

    A start *reaches* minimum k when its final point lies within `radius` of it (and nearer to it
    than to any other); it diverged when `simulate` marked it diverged.
    """

    landscape: Landscape
    optimizer: str
    hyperparameters: dict[str, Any]
    steps_run: int
    tol: float
    radius: float
    bounds: Bounds
    xs: np.ndarray
    ys: np.ndarray
    labels: np.ndarray
    steps: np.ndarray
    final_losses: np.ndarray
    backend: str

    @property
    def minima(self) -> tuple[Minimum, ...]:
        return self.landscape.minima

    @property
    def resolution(self) -> tuple[int, int]:
        """(columns, rows)."""
        return len(self.xs), len(self.ys)

    def counts(self) -> dict[int, int]:
        """How many cells carry each label (minimum index, −1, −2), labels in ascending order."""
        values, counts = np.unique(self.labels, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts, strict=True)}

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, column) of the cell holding (x, y), or None outside `bounds`."""
        (x0, x1), (y0, y1) = self.bounds
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return None
        columns, rows = self.resolution
        column = min(int((x - x0) / (x1 - x0) * columns), columns - 1)
        row = min(int((y - y0) / (y1 - y0) * rows), rows - 1)
        return row, column

    def start_at(self, x: float, y: float) -> tuple[float, float] | None:
        """The start (a cell centre) of the cell holding (x, y), or None outside `bounds`."""
        cell = self.cell_at(x, y)
        return None if cell is None else (float(self.xs[cell[1]]), float(self.ys[cell[0]]))


def cell_centres(bounds: Bounds, columns: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres of a columns × rows grid of equal cells filling `bounds`: (xs (C,), ys (R,))."""
    (x0, x1), (y0, y1) = bounds
    return (x0 + (np.arange(columns) + 0.5) * (x1 - x0) / columns,
            y0 + (np.arange(rows) + 0.5) * (y1 - y0) / rows)


def nearest_minima(landscape: Landscape, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point (..., 2): the index into ``landscape.minima`` of the nearest known minimum and
    the distance to it, in one pass (−1 and NaN if no minimum is known). The same numbers as
    ``landscape.nearest_minimum_index`` and ``nearest_minimum_distance`` (ties to the lower index;
    a non-finite point: index 0, its distance inf or NaN), without their (..., K, 2) gaps array, once
    per minimum instead of twice per minimum and coordinate."""
    points = np.asarray(points, dtype=float)
    if not landscape.minima:
        return np.full(points.shape[:-1], -1), np.full(points.shape[:-1], np.nan)
    x, y = points[..., 0], points[..., 1]
    first, *others = landscape.minima
    nearest = np.zeros(points.shape[:-1], dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged start's point may overflow: inf or NaN
        squared = (x - first.x) ** 2 + (y - first.y) ** 2
        for k, minimum in enumerate(others, start=1):
            candidate = (x - minimum.x) ** 2 + (y - minimum.y) ** 2
            closer = candidate < squared  # NaN compares False: a NaN point keeps index 0 and NaN
            nearest = np.where(closer, k, nearest)
            squared = np.where(closer, candidate, squared)
    return nearest, np.sqrt(squared)


def reached_labels(run: Run, radius: float) -> np.ndarray:
    """Per start (N,): the index of the known minimum within `radius` of the final point, `NOWHERE`
    if none is, `DIVERGED` if the start diverged."""
    nearest, distance = nearest_minima(run.landscape, run.final_points)
    labels = np.where(np.nan_to_num(distance, nan=np.inf) <= radius, nearest, NOWHERE)
    return np.where(run.diverged >= 0, DIVERGED, labels).astype(np.int64)


def basin_map(landscape: Landscape | str, optimizer: str, resolution: int | tuple[int, int], steps: int,
              bounds: Bounds | tuple | None = None, tol: float = DEFAULT_TOL, *, radius: float | None = None,
              schedule: dict[str, Any] | None = None, noise: float = 0.0, seed: int = 0,
              backend: str = "auto", **hyperparameters: Any) -> BasinMap:
    """Run `optimizer` for `steps` steps from the centre of every cell of a `resolution` grid
    (an int, or (columns, rows)) over `bounds` (default: the landscape's view), in ONE vectorized
    `simulate` call that keeps only final points (``record="final"``), and label each cell by the
    minimum its start reaches (see `BasinMap`). `radius` defaults to 1 % of the view's diagonal;
    `tol` is the gradient-norm tolerance of the steps count.

    >>> basins = basin_map("himmelblau", "sgd", 20, 300, lr=0.01)
    >>> basins.labels.shape, sorted(basins.counts())
    ((20, 20), [0, 1, 2, 3])
    """
    land = get_landscape(landscape) if isinstance(landscape, str) else landscape
    view = land.bounds if bounds is None else (bounds if isinstance(bounds, Bounds) else Bounds(*bounds))
    view = Bounds.of(*view.flat)
    columns, rows = (resolution, resolution) if np.isscalar(resolution) else resolution
    columns, rows = _count("columns", columns), _count("rows", rows)
    if radius is None:
        (x0, x1), (y0, y1) = view
        radius = RADIUS_FRACTION * float(np.hypot(x1 - x0, y1 - y0))
    xs, ys = cell_centres(view, columns, rows)
    grid_x, grid_y = np.meshgrid(xs, ys)
    starts = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)
    run = simulate(land, optimizer, starts, steps, record="final", tol=tol, schedule=schedule, noise=noise,
                   seed=seed, backend=backend, **hyperparameters)
    shape = (rows, columns)
    return BasinMap(landscape=land, optimizer=run.optimizer, hyperparameters=run.hyperparameters, steps_run=steps,
                    tol=tol, radius=float(radius), bounds=view, xs=xs, ys=ys,
                    labels=reached_labels(run, radius).reshape(shape), steps=run.converged_at.reshape(shape),
                    final_losses=run.final_losses.reshape(shape), backend=run.backend)


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"resolution {name} must be a whole number ≥ 1, got {value!r}")
    return int(value)
