"""Hyperparameter sweeps: one optimizer over a grid of two hyperparameters, equal step budgets,
one vectorized `simulate` call with one setting per start."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from landscapes import Landscape, get_landscape
from optimizers import HyperparameterError, Run, get_optimizer, simulate

from .basins import DEFAULT_TOL, nearest_minima

# Every metric is lower-is-better; each is per cell, over the sweep's starts.
METRICS = {
    "final_loss": "mean final loss over the starts",
    "steps_to_tol": "steps until every start's gradient norm is ≤ tol",
    "distance": "mean distance of the final points to their nearest known minimum",
    "diverged": "fraction of the starts that diverged",
    "rate": "per-step rate at which the distance to the nearest minimum shrinks (the worst start)",
}
RATE_FLOOR = 1e-280  # below this fraction of the first distance, float64 stops carrying the rate
_ELEMENT = re.compile(r"^(\w+)\[([01])\]$")


@dataclass(frozen=True, eq=False)
class Sweep:
    """A metric per setting of two hyperparameters. ``x_values (A,)`` are the first axis's values,
    ``y_values (B,)`` the second's; every grid in `metrics` is ``(B, A)``, indexed [y, x]. Cells where
    a start diverged hold inf in "final_loss", "distance" and "steps_to_tol" (also inf where a start
    never reached `tol`); "diverged" is the fraction of starts that did; "rate" (only when asked for:
    it keeps whole paths) is NaN where no rate could be measured."""

    landscape: Landscape
    optimizer: str
    fixed: dict[str, Any]
    steps_run: int
    tol: float
    starts: np.ndarray
    names: tuple[str, str]
    x_values: np.ndarray
    y_values: np.ndarray
    metric: str
    metrics: dict[str, np.ndarray]
    backend: str

    @property
    def grid(self) -> np.ndarray:
        """The chosen metric, (B, A)."""
        return self.metrics[self.metric]

    @property
    def best(self) -> tuple[int, int] | None:
        """(row, column) of the best cell: the lowest finite metric, ties going to the lower final
        loss, then to the first cell in row-major order; None if no cell has a finite metric."""
        values = self.grid.ravel()
        finite = np.flatnonzero(np.isfinite(values))
        if not len(finite):
            return None
        losses = np.nan_to_num(self.metrics["final_loss"].ravel()[finite], nan=np.inf)
        chosen = finite[np.lexsort((finite, losses, values[finite]))[0]]
        return divmod(int(chosen), len(self.x_values))

    def setting(self, row: int, column: int) -> dict[str, Any]:
        """The hyperparameters of cell (row, column): the fixed ones with both axes set."""
        setting = dict(self.fixed)
        for name, value in ((self.names[0], self.x_values[column]), (self.names[1], self.y_values[row])):
            set_axis(setting, name, float(value), self.optimizer)
        return setting


def axis_names(optimizer: str) -> list[str]:
    """The names a sweep axis may take for `optimizer`: its float hyperparameters, and each element
    of its pairs as ``name[0]`` / ``name[1]`` (``betas[1]`` is β₂)."""
    names = []
    for spec in get_optimizer(optimizer).hyperparameters:
        if spec.kind == "float":
            names.append(spec.name)
        elif spec.kind == "pair":
            names += [f"{spec.name}[0]", f"{spec.name}[1]"]
    return names


def set_axis(setting: dict[str, Any], name: str, value: Any, optimizer: str) -> None:
    """Set axis `name` (a float hyperparameter or ``pair[i]``) to `value` in `setting`, in place."""
    if name not in axis_names(optimizer):
        raise HyperparameterError(f"{optimizer} has no hyperparameter {name!r} to sweep; "
                                  f"choose from {', '.join(axis_names(optimizer))}")
    element = _ELEMENT.match(name)
    if element is None:
        setting[name] = value
        return
    pair_name, index = element.group(1), int(element.group(2))
    pair = list(setting.get(pair_name, get_optimizer(optimizer).defaults[pair_name]))
    pair[index] = value
    setting[pair_name] = tuple(pair)


def sweep(landscape: Landscape | str, optimizer: str, starts: Sequence[tuple[float, float]], steps: int,
          axes: Mapping[str, Sequence[float]], metric: str = "final_loss", tol: float = DEFAULT_TOL, *,
          schedule: dict[str, Any] | None = None, noise: float = 0.0, seed: int = 0, backend: str = "auto",
          **fixed: Any) -> Sweep:
    """Every setting of the two hyperparameters in `axes` ({name: values, name: values}, see
    `axis_names`), each from every start, `steps` steps each, in ONE `simulate` call (one setting
    per start, ``record="final"``; "rate" records the paths). All metrics that need only final
    points are computed; `metric` says which one `Sweep.grid` and `Sweep.best` use.

    >>> s = sweep("quadratic", "sgd", [(-4.0, 2.0)], 200, {"lr": [0.1, 0.3, 0.6], "momentum": [0.0, 0.5]})
    >>> s.grid.shape, s.metrics["diverged"][0].tolist()
    ((2, 3), [0.0, 0.0, 1.0])
    """
    land = get_landscape(landscape) if isinstance(landscape, str) else landscape
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    if len(axes) != 2:
        raise ValueError(f"a sweep has two axes {{name: values, name: values}}, got {len(axes)}")
    (x_name, x_values), (y_name, y_values) = ((name, _values(name, values)) for name, values in axes.items())
    start_points = np.atleast_2d(np.asarray(starts, dtype=float))
    columns, rows, count = len(x_values), len(y_values), len(start_points)
    n = rows * columns * count  # start s of cell (row, column) is run number (row·A + column)·S + s
    settings = dict(fixed)
    set_axis(settings, x_name, np.repeat(np.tile(x_values, rows), count), optimizer)
    set_axis(settings, y_name, np.repeat(y_values, columns * count), optimizer)
    _per_start_pairs(settings, n)
    record = "path" if metric == "rate" else "final"
    run = simulate(land, optimizer, np.tile(start_points, (rows * columns, 1)), steps, record=record, tol=tol,
                   schedule=schedule, noise=noise, seed=seed, backend=backend, **settings)
    metrics = cell_metrics(run, (rows, columns, count), with_rate=metric == "rate")
    return Sweep(landscape=land, optimizer=run.optimizer, fixed=dict(fixed), steps_run=steps, tol=tol,
                 starts=start_points, names=(x_name, y_name), x_values=x_values, y_values=y_values,
                 metric=metric, metrics=metrics, backend=run.backend)


def cell_metrics(run: Run, shape: tuple[int, ...], with_rate: bool = False) -> dict[str, np.ndarray]:
    """The metrics of `METRICS` per cell from a run whose starts are laid out as ``shape + (S,)``
    (the last axis: the starts of one cell)."""
    diverged = (run.diverged >= 0).reshape(shape)
    any_diverged = diverged.any(-1)
    losses = run.final_losses.reshape(shape).mean(-1)
    distances = nearest_minima(run.landscape, run.final_points)[1].reshape(shape).mean(-1)
    metrics = {"final_loss": np.where(any_diverged, np.inf, losses),
               "distance": np.where(any_diverged, np.inf, distances),
               "diverged": diverged.mean(-1)}
    if run.converged_at is not None:
        converged = run.converged_at.reshape(shape)
        metrics["steps_to_tol"] = np.where((converged < 0).any(-1), np.inf, converged.max(-1).astype(float))
    if with_rate:
        rates = measured_rates(run).reshape(shape)
        worst = np.where(np.isnan(rates), -np.inf, rates).max(-1)
        metrics["rate"] = np.where(np.isfinite(worst), worst, np.nan)
    return metrics


def measured_rates(run: Run) -> np.ndarray:
    """Per start (N,): the per-step rate r at which the distance d_t to the nearest known minimum (of
    the final point) shrinks, r < 1, or grows, r > 1. Needs a run that recorded paths (every=1).

    Measured on s_t = √(d_t² + d_{t−1}²), the size of a two-step method's state (d_t alone passes
    near 0 on every ripple of a momentum run, s_t does not): exp of the least-squares slope of log s_t
    over the second half of the steps where s_t is finite, above `RATE_FLOOR`·s_1 (round-off below)
    and before the start diverged. NaN with fewer than 4 such steps or no known minimum.
    """
    points = run._need("points")
    if run.every != 1:
        raise ValueError("measured_rates needs every step of the path (every=1)")
    minima = run.landscape.minima
    n, length = points.shape[:2]
    if not minima or length < 5:
        return np.full(n, np.nan)
    centres = np.array([(m.x, m.y) for m in minima])
    target = centres[np.maximum(run.reached, 0)]
    with np.errstate(all="ignore"):
        d = np.sqrt(((points - target[:, None, :]) ** 2).sum(-1))
        s = np.sqrt(d[:, 1:] ** 2 + d[:, :-1] ** 2)  # s[:, k] is the state at step k + 1
        steps = np.arange(1, length, dtype=float)
        alive = steps[None, :] < np.where(run.diverged >= 0, run.diverged, length)[:, None]
        usable = np.isfinite(s) & (s > RATE_FLOOR * s[:, :1]) & alive
        # the last step of the first run of usable steps; the window is its second half
        last = np.where(usable.all(1), length - 2, np.argmin(usable, axis=1) - 1)
        window = (steps[None, :] - 1 >= (last // 2)[:, None]) & (steps[None, :] - 1 <= last[:, None]) & usable
        count = window.sum(1)
        logs = np.where(window, np.log(s), 0.0)
        t = np.where(window, steps[None, :], 0.0)
        mean_t = t.sum(1) / count
        mean_log = logs.sum(1) / count
        centred = np.where(window, steps[None, :] - mean_t[:, None], 0.0)
        slope = (centred * (logs - mean_log[:, None])).sum(1) / (centred**2).sum(1)
    return np.where(count >= 4, np.exp(slope), np.nan)


def _values(name: str, values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float).reshape(-1)
    if not len(array):
        raise ValueError(f"axis {name!r} has no values")
    return array


def _per_start_pairs(settings: dict[str, Any], n: int) -> None:
    """A pair with one per-start element gets its other element as a per-start column too."""
    for name, value in settings.items():
        if isinstance(value, tuple) and any(isinstance(v, np.ndarray) for v in value):
            settings[name] = tuple(v if isinstance(v, np.ndarray) else np.full(n, float(v)) for v in value)


# Optimizers whose points on a quadratic are the heavy ball θ_{t+1} = θ_t − α∇f + β(θ_t − θ_{t−1}) with
# α = lr, β = momentum (optimizers/theory.py), when the other settings are their defaults.
HEAVY_BALL = {"sgd": {"dampening": 0.0, "nesterov": False, "weight_decay": 0.0}, "momentum": {}}


def analytic_rate(result: Sweep) -> np.ndarray | None:
    """What theory predicts for this sweep, (B, A), when it has one: SGD with momentum (torch's form or
    the classic one, no dampening, Nesterov or weight decay) over lr × momentum on a quadratic landscape
    (constant Hessian): the spectral radius of the 2×2 iteration matrix, the worst over the Hessian's
    eigenvalues (≥ 1: diverges). None otherwise."""
    from optimizers.theory import momentum_rate, quadratic_theory

    defaults = HEAVY_BALL.get(result.optimizer)
    if defaults is None or set(result.names) != {"lr", "momentum"} or not is_quadratic(result.landscape):
        return None
    if any(result.fixed.get(name, value) != value for name, value in defaults.items()):
        return None
    eigenvalues = quadratic_theory(result.landscape).eigenvalues
    if not (eigenvalues > 0).all():
        return None
    across, up = np.meshgrid(result.x_values, result.y_values)
    lr, momentum = (across, up) if result.names[0] == "lr" else (up, across)
    return np.max([momentum_rate(lr * lam, momentum) for lam in eigenvalues], axis=0)


def is_quadratic(landscape: Landscape) -> bool:
    """True if f is a polynomial of degree ≤ 2 in x, y (its Hessian is the same everywhere)."""
    import sympy as sp

    from landscapes import x, y

    try:
        return sp.Poly(landscape.expression, x, y).total_degree() <= 2
    except sp.PolynomialError:
        return False
