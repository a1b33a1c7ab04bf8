"""Fair learning-rate tuning: each optimizer's best rate over a log grid within an equal step budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from landscapes import Landscape, get_landscape
from optimizers import simulate

from .basins import DEFAULT_TOL

SCORES = {
    "final_loss": "mean final loss over the starts",
    "mean_loss": "mean loss over the whole run and the starts (rewards getting low early, not only at the end)",
    "steps_to_tol": "steps until every start's gradient norm is ≤ tol",
}


@dataclass(frozen=True, eq=False)
class Tuning:
    """The score of every learning rate of the grid, ``lrs (K,)`` and ``scores (K,)`` (lower is better;
    inf where a start diverged, or, for "steps_to_tol", never reached the tolerance), and the best.
    `best_lr` is the rate of the lowest finite score (the first of equal ones, in grid order), None if
    every rate diverged."""

    landscape: Landscape
    optimizer: str
    fixed: dict[str, Any]
    steps_run: int
    starts: np.ndarray
    score: str
    lrs: np.ndarray
    scores: np.ndarray
    diverged: np.ndarray  # (K,) fraction of the starts that diverged
    backend: str

    @property
    def best_index(self) -> int | None:
        finite = np.isfinite(self.scores)
        return int(np.argmin(np.where(finite, self.scores, np.inf))) if finite.any() else None

    @property
    def best_lr(self) -> float | None:
        index = self.best_index
        return None if index is None else float(self.lrs[index])


def log_grid(low: float, high: float, per_decade: int = 4) -> np.ndarray:
    """Rates from `low` to `high`, evenly spaced in log, `per_decade` per factor of ten (both ends in)."""
    if not 0 < low < high:
        raise ValueError(f"a log grid needs 0 < low < high, got {low!r}, {high!r}")
    count = max(2, int(round(np.log10(high / low) * per_decade)) + 1)
    return np.logspace(np.log10(low), np.log10(high), count)


def tune_lr(landscape: Landscape | str, optimizer: str, starts: Sequence[tuple[float, float]], steps: int,
            lrs: Sequence[float], score: str = "final_loss", tol: float = DEFAULT_TOL, *,
            schedule: dict[str, Any] | None = None, noise: float = 0.0, seed: int = 0, backend: str = "auto",
            **fixed: Any) -> Tuning:
    """Score every rate in `lrs` from every start after `steps` steps, in ONE `simulate` call (one
    rate per start), the other hyperparameters `fixed`. `score` is one of `SCORES`.

    >>> tuned = tune_lr("quadratic", "sgd", [(-4.0, 2.0)], 100, [0.01, 0.1, 0.3, 0.6])
    >>> tuned.best_lr, float(tuned.scores[-1])
    (0.3, inf)
    """
    land = get_landscape(landscape) if isinstance(landscape, str) else landscape
    if score not in SCORES:
        raise ValueError(f"score must be one of {', '.join(SCORES)}, got {score!r}")
    rates = np.asarray(lrs, dtype=float).reshape(-1)
    if not len(rates):
        raise ValueError("lrs is empty")
    start_points = np.atleast_2d(np.asarray(starts, dtype=float))
    count = len(start_points)
    run = simulate(land, optimizer, np.tile(start_points, (len(rates), 1)), steps,
                   record="path" if score == "mean_loss" else "final", tol=tol, schedule=schedule, noise=noise,
                   seed=seed, backend=backend, lr=np.repeat(rates, count), **fixed)
    shape = (len(rates), count)
    diverged = (run.diverged >= 0).reshape(shape)
    if score == "final_loss":
        values = run.final_losses.reshape(shape).mean(1)
    elif score == "mean_loss":
        values = run.losses.reshape(len(rates), count, -1).mean(axis=(1, 2))
    else:
        converged = run.converged_at.reshape(shape)
        values = np.where((converged < 0).any(1), np.inf, converged.max(1).astype(float))
    scores = np.where(diverged.any(1), np.inf, values)
    return Tuning(landscape=land, optimizer=run.optimizer, fixed=dict(fixed), steps_run=steps, starts=start_points,
                  score=score, lrs=rates, scores=scores, diverged=diverged.mean(1), backend=run.backend)
