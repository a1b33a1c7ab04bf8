"""The summary table's rows: how far each optimizer got from each start."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from optimizers import Run, polyak_average

from .style import legend_labels

COLUMNS = ("optimizer", "start", "final loss", "distance to nearest minimum", "steps to tolerance", "diverged",
           "why it diverged")
NUMBER_COLUMNS = ("final loss", "distance to nearest minimum")
# Too long for a narrow table: a page may hide these, or show them as a tooltip of "diverged".
DETAIL_COLUMNS = ("why it diverged",)


def summary_rows(runs: Sequence[Run], *, labels: Sequence[str] | None = None,
                 averaged: Sequence[bool] | None = None, tol: float = 1e-3) -> list[dict]:
    """One row per run and start (plus one per Polyak average asked for), keyed by `COLUMNS`.

    "steps to tolerance" is the first step whose loss is within `tol` of the landscape's
    lowest known minimum (None if it never gets there or no minimum is known); "diverged"
    is "step k" (short, so that the cell is never cut) and "why it diverged" the reason, both
    "" for a start that did not diverge.

    >>> from optimizers import simulate
    >>> run = simulate("quadratic", "sgd", [(-4.0, 2.0)], 100, record="path", lr=1.2)
    >>> row = summary_rows([run])[0]
    >>> row["diverged"], row["why it diverged"]
    ('step 14', 'a coordinate exceeded 1e+08 in magnitude')
    """
    labels = list(labels) if labels is not None else legend_labels(runs)
    averaged = list(averaged) if averaged is not None else [False] * len(runs)
    rows = []
    for run, label, average in zip(runs, labels, averaged, strict=True):
        landscape = run.landscape
        best = min((m.value for m in landscape.minima), default=None)
        variants = [(label, run.points, run.losses)]
        if average:
            points = polyak_average(run.points)
            with np.errstate(all="ignore"):
                variants.append((f"{label} (Polyak average)", points, landscape.loss(points[..., 0], points[..., 1])))
        for name, points, losses in variants:
            for start in range(len(points)):
                reached = (np.flatnonzero(losses[start] - best <= tol) if best is not None
                           else np.array([], dtype=int))
                step = int(run.diverged[start])
                rows.append({
                    "optimizer": name,
                    "start": f"({points[start, 0, 0]:.4g}, {points[start, 0, 1]:.4g})",
                    "final loss": float(losses[start, -1]),
                    "distance to nearest minimum": float(landscape.nearest_minimum_distance(points[start, -1])),
                    "steps to tolerance": int(reached[0]) if len(reached) else None,
                    "diverged": f"step {step}" if step >= 0 else "",
                    "why it diverged": (run.divergence_reason(start) or "") if step >= 0 else "",
                })
    return rows


def shown_rows(rows: Sequence[dict]) -> list[dict]:
    """`summary_rows` for reading: the real-valued columns as text with 4 significant digits.

    A table in the browser cannot show every float: Streamlit prints a value beyond 2^53 (the
    loss of a start about to diverge can be 1e30) in full and marks it as an error, whatever
    its format. As text it reads 1e+30.

    >>> shown_rows([{"final loss": 1.234567e30, "distance to nearest minimum": float("nan")}])
    [{'final loss': '1.235e+30', 'distance to nearest minimum': '—'}]
    """
    return [{key: number_text(value) if key in NUMBER_COLUMNS else value for key, value in row.items()}
            for row in rows]


def number_text(value: float) -> str:
    """4 significant digits, exponent only for very large or small magnitudes; '—' for NaN."""
    if np.isnan(value):
        return "—"
    if np.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.4g}"
