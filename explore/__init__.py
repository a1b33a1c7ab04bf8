"""Thousands of runs at once: basin maps, hyperparameter sweeps and fair learning-rate tuning, each one
vectorized `optimizers.simulate` call; plain Python + NumPy, arrays with labelled axes.

>>> from explore import basin_map, sweep, tune_lr
>>> basin_map("himmelblau", "adam", 8, 200, lr=0.1).labels.shape
(8, 8)
"""

from __future__ import annotations

from .basins import DIVERGED, NOWHERE, BasinMap, basin_map, cell_centres, nearest_minima, reached_labels
from .sweeps import METRICS, Sweep, analytic_rate, axis_names, measured_rates, set_axis, sweep
from .tuning import SCORES, Tuning, log_grid, tune_lr

__all__ = ["DIVERGED", "METRICS", "NOWHERE", "SCORES", "BasinMap", "Sweep", "Tuning", "analytic_rate",
           "axis_names", "basin_map", "cell_centres", "log_grid", "measured_rates", "nearest_minima", "reached_labels",
           "set_axis", "sweep", "tune_lr"]
