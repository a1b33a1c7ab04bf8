"""Trajectories as data: every point of every run as table rows, CSV, or columnar JSON."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimizers import Run

COLUMNS = ("step", "optimizer", "settings", "start", "x", "y", "loss", "lr")


@dataclass(frozen=True)
class Trajectory:
    """Start `start` of `run`, as plain Python lists of length T+1.

    ``lr[t]`` is the rate of the step from point t to point t+1; the last point has none.
    """

    label: str
    run: Run
    start: int
    x: list[float]
    y: list[float]
    loss: list[float]
    lr: list[float | None]

    @property
    def steps(self) -> range:
        return range(len(self.x))


def trajectories(runs: Sequence[Run], labels: Sequence[str]) -> Iterator[Trajectory]:
    """Every start of every run, run by run. Runs need ``record="path"`` or ``"full"``."""
    for run, label in zip(runs, labels, strict=True):
        if run.points is None or run.losses is None:
            raise ValueError(f"run {label!r} has no trajectory: simulate with record='path' or 'full'")
        rates = [*run.lrs.tolist(), None]
        for start in range(len(run.points)):
            yield Trajectory(label, run, start, run.points[start, :, 0].tolist(), run.points[start, :, 1].tolist(),
                             run.losses[start].tolist(), rates)


def trajectory_rows(runs: Sequence[Run], labels: Sequence[str]) -> list[dict[str, Any]]:
    """One row per point of every trajectory, with the `COLUMNS` as keys: sum over runs of N·(T+1) rows.

    `labels` names each run (the ``optimizer`` column); ``settings`` is `settings_text`;
    ``lr`` is None on each trajectory's last point. Non-finite values are kept as floats.

    >>> from optimizers import simulate
    >>> run = simulate("quadratic", "sgd", [(-4.0, 2.0)], 1, record="path", lr=0.1)
    >>> [(row["step"], row["x"], row["lr"]) for row in trajectory_rows([run], ["SGD lr=0.1"])]
    [(0, -4.0, 0.1), (1, -3.92, None)]
    """
    return [dict(zip(COLUMNS, row, strict=True)) for row in _rows(runs, labels)]


def to_csv(runs: Sequence[Run], labels: Sequence[str]) -> bytes:
    """`trajectory_rows` as UTF-8 CSV with a header row.

    Floats are written with ``repr``, so ``float(cell)`` gives back the exact value (also
    ``nan``, ``inf``, ``-inf``); the last point's empty ``lr`` cell means "no step".
    """
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    writer.writerows(_rows(runs, labels))  # csv writes None as an empty cell
    return text.getvalue().encode("utf-8")


def to_json(runs: Sequence[Run], labels: Sequence[str], *, landscape: str = "") -> bytes:
    """Strict UTF-8 JSON: ``{"landscape": ..., "trajectories": [...]}``, one object per start of each run.

    Each trajectory holds its ``label``, ``optimizer`` (registry name), ``hyperparameters``,
    ``schedule`` (or null), ``noise`` and ``seed``, ``start`` (index), ``start_point``,
    ``diverged_at`` (step, or null) and the columns ``step``, ``x``, ``y``, ``loss``, ``lr``
    (each T+1 long; ``lr`` ends with null). Non-finite numbers become null: JSON has no NaN.
    `landscape` defaults to the first run's landscape name.
    """
    items = [_trajectory_json(trajectory) for trajectory in trajectories(runs, labels)]
    document = {"landscape": landscape or (runs[0].landscape.name if runs else ""), "trajectories": items}
    return json.dumps(document, ensure_ascii=False, allow_nan=False).encode("utf-8")


def settings_text(run: Run) -> str:
    """Everything that shaped a run, compact and readable: all hyperparameters, then the
    schedule and the gradient noise if any.

    ``lr=0.1; momentum=0.9; …; schedule=StepLR(step_size=30, gamma=0.5); noise=0.5; seed=0``
    """
    parts = [f"{name}={_value_text(value)}" for name, value in run.hyperparameters.items()]
    schedule = schedule_dict(run.schedule)
    if schedule is not None:
        arguments = ", ".join(f"{name}={_value_text(value)}" for name, value in schedule.items() if name != "name")
        parts.append(f"schedule={schedule['name']}({arguments})")
    if run.noise:
        parts.append(f"noise={_value_text(run.noise)}; seed={run.seed}")
    return "; ".join(parts)


def schedule_dict(schedule: dict[str, Any] | str | None) -> dict[str, Any] | None:
    """A run's schedule as given to `simulate` (None, a name, or a dict), as a dict of plain values."""
    if schedule is None:
        return None
    return _plain({"name": schedule} if isinstance(schedule, str) else dict(schedule))


def _rows(runs: Sequence[Run], labels: Sequence[str]) -> Iterator[tuple]:
    for run, label in zip(runs, labels, strict=True):
        settings = settings_text(run)
        for trajectory in trajectories([run], [label]):
            points = len(trajectory.x)
            yield from zip(trajectory.steps, [label] * points, [settings] * points, [trajectory.start] * points,
                           trajectory.x, trajectory.y, trajectory.loss, trajectory.lr, strict=True)


def _trajectory_json(trajectory: Trajectory) -> dict[str, Any]:
    run, start = trajectory.run, trajectory.start
    diverged = int(run.diverged[start])
    return {
        "label": trajectory.label,
        "optimizer": run.optimizer,
        "hyperparameters": _plain(run.hyperparameters),
        "schedule": schedule_dict(run.schedule),
        "noise": _plain(run.noise),
        "seed": run.seed,
        "start": start,
        "start_point": _plain(run.starts[start]),
        "diverged_at": diverged if diverged >= 0 else None,
        "step": list(trajectory.steps),
        "x": _finite_or_null(trajectory.x),
        "y": _finite_or_null(trajectory.y),
        "loss": _finite_or_null(trajectory.loss),
        "lr": _finite_or_null(trajectory.lr),
    }


def _plain(value: Any) -> Any:
    """`value` as JSON-ready Python: NumPy values unwrapped, tuples and arrays as lists, non-finite floats None."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _finite_or_null(values: list[float | None]) -> list[float | None]:
    return [v if v is not None and math.isfinite(v) else None for v in values]


def _value_text(value: Any) -> str:
    """A hyperparameter as written in Python: ``0.1``, ``1e-08``, ``False``, ``(0.9, 0.999)``."""
    value = _plain(value) if isinstance(value, (np.generic, np.ndarray)) else value
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_value_text(item) for item in value) + ")"
    return str(value) if isinstance(value, str) else repr(value)
