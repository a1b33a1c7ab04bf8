"""The summary table: one row per run and start (and per Polyak average), each number checked
against the run itself."""

from __future__ import annotations

import math

import numpy as np
import pytest

from figures.summary import COLUMNS, NUMBER_COLUMNS, number_text, shown_rows, summary_rows
from landscapes import get_landscape, landscape_names
from optimizers import polyak_average, simulate
from optimizers.simulate import REASONS


def steps_to_tolerance(losses: np.ndarray, best: float | None, tol: float) -> int | None:
    """The first step whose loss is within tol of the lowest known minimum, by walking the steps."""
    if best is None:
        return None
    return next((step for step, loss in enumerate(losses.tolist()) if loss - best <= tol), None)


def runs_on(name: str) -> list:
    landscape = get_landscape(name)
    return [simulate(landscape, "adam", landscape.starts, 80, record="path", lr=0.1),
            simulate(landscape, "sgd", landscape.starts, 80, record="path", lr=0.01)]


@pytest.mark.parametrize("tol", [1e-1, 1e-2, 1e-8])
@pytest.mark.parametrize("name", landscape_names())
def test_each_row_reports_its_run_and_start(name, tol):
    runs = runs_on(name)
    landscape = runs[0].landscape
    best = min((m.value for m in landscape.minima), default=None)
    rows = summary_rows(runs, labels=["first", "second"], tol=tol)
    expected = [(label, run, s) for label, run in zip(["first", "second"], runs, strict=True)
                for s in range(len(run.points))]
    assert len(rows) == len(expected)
    for row, (label, run, s) in zip(rows, expected, strict=True):
        assert tuple(row) == COLUMNS
        assert row["optimizer"] == label
        assert row["start"] == f"({run.starts[s, 0]:.4g}, {run.starts[s, 1]:.4g})"
        assert row["final loss"] == run.losses[s, -1]
        distance = float(landscape.nearest_minimum_distance(run.points[s, -1]))
        assert row["distance to nearest minimum"] == distance or math.isnan(distance) and math.isnan(
            row["distance to nearest minimum"])
        assert row["steps to tolerance"] == steps_to_tolerance(run.losses[s], best, tol)
        diverged_at = int(run.diverged[s])
        assert row["diverged"] == ("" if diverged_at < 0 else "step " + str(diverged_at))
        assert row["why it diverged"] == ("" if diverged_at < 0 else REASONS[int(run.divergence_codes[s])])


def test_steps_to_tolerance_is_the_first_step_within_tolerance_of_the_minimum():
    (run, _) = runs_on("quadratic")
    (row,) = summary_rows([run], tol=1e-2)
    step = row["steps to tolerance"]
    assert step is not None and step > 0
    assert run.losses[0, step] <= 1e-2 < run.losses[0, step - 1]


def test_steps_to_tolerance_is_none_when_never_reached():
    (run, _) = runs_on("quadratic")
    (row,) = summary_rows([run], tol=1e-12)
    assert run.losses.min() > 1e-12
    assert row["steps to tolerance"] is None


@pytest.mark.parametrize("name", [n for n in landscape_names() if not get_landscape(n).minima])
def test_without_known_minima_there_is_no_tolerance_step_and_no_distance(name):
    runs = runs_on(name)
    for row in summary_rows(runs, tol=1e12):  # any loss would be within this tolerance of a minimum
        assert row["steps to tolerance"] is None
        assert math.isnan(row["distance to nearest minimum"])


def test_a_polyak_average_adds_a_row_per_start_after_its_run():
    landscape = get_landscape("himmelblau")
    run = simulate(landscape, "sgd", landscape.starts, 60, record="path", lr=0.01)
    rows = summary_rows([run], labels=["SGD"], averaged=[True], tol=1e-3)
    averages = polyak_average(run.points)
    assert [r["optimizer"] for r in rows] == ["SGD", "SGD", "SGD (Polyak average)", "SGD (Polyak average)"]
    for row, path in zip(rows[2:], averages, strict=True):
        final = float(landscape.loss(path[-1, 0], path[-1, 1]))
        assert row["final loss"] == pytest.approx(final, rel=1e-12)
        assert row["distance to nearest minimum"] == pytest.approx(
            float(landscape.nearest_minimum_distance(path[-1])), rel=1e-12)
        assert row["start"] == f"({path[0, 0]:.4g}, {path[0, 1]:.4g})"
        losses = landscape.loss(path[:, 0], path[:, 1])
        assert row["steps to tolerance"] == steps_to_tolerance(losses, 0.0, 1e-3)


def test_a_diverged_start_says_when_in_a_short_cell_and_why_in_its_own_column():
    landscape = get_landscape("quadratic")
    run = simulate(landscape, "sgd", [(-4.0, 2.0), (0.0, 0.0)], 100, record="path", lr=1.2)
    # f = x²/10 + 2y², lr 1.2: y is multiplied by 1 − 1.2·4 = −3.8 a step; 2·3.8^k > 1e8 first at k = 14.
    diverged, calm = summary_rows([run])
    assert diverged["diverged"] == "step 14"
    assert diverged["why it diverged"] == "a coordinate exceeded 1e+08 in magnitude"
    assert (calm["diverged"], calm["why it diverged"]) == ("", "")
    assert diverged["final loss"] == run.losses[0, -1]


def test_a_diverged_cell_is_short_whatever_the_reason():
    landscape = get_landscape("rosenbrock")
    (row,) = summary_rows([simulate(landscape, "sgd", landscape.starts, 80, record="path", lr=0.01)])
    assert row["diverged"] == "step 5"
    assert row["why it diverged"] == "a coordinate exceeded 1e+08 in magnitude"


def test_shown_rows_give_the_real_numbers_as_text_that_reads_back_to_them():
    landscape = get_landscape("quadratic")
    run = simulate(landscape, "sgd", [(-4.0, 2.0), (0.5, 0.5)], 100, record="path", lr=1.2)  # the first diverges
    rows = summary_rows([run])

    shown = shown_rows(rows)

    assert [list(row) for row in shown] == [list(COLUMNS)] * 2
    for row, text in zip(rows, shown, strict=True):
        for column in COLUMNS:
            if column in NUMBER_COLUMNS:
                assert float(text[column]) == pytest.approx(row[column], rel=5e-4)
            else:
                assert text[column] == row[column]
    assert "e+" in shown[0]["final loss"]  # a huge loss reads 1.2e+30, not 31 digits


@pytest.mark.parametrize(("value", "text"), [
    (0.003731652, "0.003732"), (4.1649e-7, "4.165e-07"), (1931615361777061600.0, "1.932e+18"), (0.0, "0"),
    (123456.0, "1.235e+05"), (float("nan"), "—"), (float("inf"), "∞"), (-float("inf"), "−∞"), (-2.5, "-2.5")])
def test_number_text(value, text):
    assert number_text(value) == text
