"""A learning rate suited to a landscape: the best of a log grid within a fixed step budget."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from landscapes import Landscape

from .simulate import simulate

LR_GRID = tuple(float(f"{v:.0e}") for v in np.logspace(-4, 0, 13))  # 1e-4 … 1, three per decade


def suggested_lr(landscape: Landscape, optimizer: str, starts: Sequence[tuple[float, float]], steps: int,
                 grid: Sequence[float] = LR_GRID, **hyperparameters) -> float:
    """The learning rate of `grid` whose run ends lowest, on average over `starts`, after
    `steps` steps, among those with no start diverging (the smallest rate if all diverge).

    Score: the mean final loss. Ties (within a relative 1e-9: several rates reaching the
    same minimum) go to the smallest rate, the safer one.

    >>> from landscapes import get_landscape
    >>> suggested_lr(get_landscape("quadratic"), "sgd", [(-4.0, 2.0)], 100)
    0.2
    """
    best, best_score = min(grid), np.inf
    for lr in sorted(grid):
        run = simulate(landscape, optimizer, starts, steps, record="final", lr=lr, **hyperparameters)
        if (run.diverged >= 0).any():
            continue
        score = float(np.mean(run.final_losses))
        if best_score == np.inf or score < best_score - 1e-9 * abs(best_score):
            best, best_score = lr, score
    return best
