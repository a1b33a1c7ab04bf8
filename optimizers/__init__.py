"""Optimizers with torch.optim's names, keywords and defaults, stepped in NumPy over many starts.

>>> from optimizers import simulate, optimizer_names
>>> run = simulate("quadratic", "sgd", starts=[(-4.0, 2.0)], steps=10, lr=0.4, momentum=0.5)
>>> run.points.shape
(1, 11, 2)
"""

from __future__ import annotations

# Importing the families registers their optimizers, in the order the UI lists them.
from . import adam, adaptive, lbfgs, linesearch, newton, sgd  # noqa: F401  (registration)
from .registry import OPTIMIZERS, Constraint, Equation, Hyperparameter, HyperparameterError, Optimizer, Rule
from .schedules import SCHEDULES, Schedule, learning_rates
from .simulate import LIMIT, Run, get_optimizer, optimizer_names, polyak_average, simulate

__all__ = [
    "LIMIT", "OPTIMIZERS", "SCHEDULES", "Constraint", "Equation", "Hyperparameter", "HyperparameterError", "Optimizer",
    "Rule", "Run", "Schedule", "get_optimizer", "learning_rates", "optimizer_names",
    "polyak_average", "schedule_names", "simulate",
]


def schedule_names() -> list[str]:
    """Names accepted in ``schedule={"name": ...}``."""
    return list(SCHEDULES)
