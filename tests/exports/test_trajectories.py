"""Trajectories as rows, CSV and JSON: every point of every run, exact, and strictly valid with diverged runs."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exports import to_csv, to_json, trajectory_rows
from exports.trajectories import COLUMNS, settings_text
from optimizers import get_optimizer, optimizer_names, simulate

LABELS = ["SGD lr=0.1", "Adam"]


@pytest.fixture(scope="module")
def runs():
    """Two runs with different numbers of starts and steps, one recorded in full, one with a schedule."""
    return [simulate("quadratic", "sgd", [(-4.0, 2.0), (3.0, -1.0)], 20, record="path", lr=0.1, momentum=0.9),
            simulate("rosenbrock", "adam", [(-1.5, 2.0)], 15, record="full", lr=0.05,
                     schedule={"name": "StepLR", "step_size": 5, "gamma": 0.5})]


@pytest.fixture(scope="module")
def diverging():
    run = simulate("quadratic", "sgd", [(-4.0, 2.0), (1.0, 0.0)], 100, record="path", lr=5.0)
    assert run.diverged[0] > 0  # y is multiplied by 1 − 5·4 = −19 every step
    return run


def strict_json(data: bytes):
    """json.loads that refuses NaN and Infinity, which are not JSON."""
    def refuse(token):
        raise ValueError(f"not JSON: {token}")
    return json.loads(data.decode("utf-8"), parse_constant=refuse)


def csv_rows(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
    return reader.fieldnames, list(reader)


def points_of(runs, labels):
    """(label, run, start, step) for every point, in export order."""
    return [(label, run, start, step) for run, label in zip(runs, labels, strict=True)
            for start in range(len(run.points)) for step in range(run.steps + 1)]


# -- rows and CSV ------------------------------------------------------------------------

def test_there_is_one_row_per_point_of_every_trajectory(runs):
    rows = trajectory_rows(runs, LABELS)

    assert len(rows) == 2 * 21 + 1 * 16
    assert all(tuple(row) == COLUMNS for row in rows)
    assert [(r["optimizer"], r["start"], r["step"]) for r in rows] == [
        (label, start, step) for label, _, start, step in points_of(runs, LABELS)]


def test_csv_has_exactly_the_columns_and_rows(runs):
    columns, rows = csv_rows(to_csv(runs, LABELS))

    assert columns == ["step", "optimizer", "settings", "start", "x", "y", "loss", "lr"]
    assert len(rows) == sum(len(run.points) * (run.steps + 1) for run in runs)


def test_csv_values_round_trip_exactly(runs):
    _, rows = csv_rows(to_csv(runs, LABELS))

    for row, (label, run, start, step) in zip(rows, points_of(runs, LABELS), strict=True):
        assert (row["optimizer"], int(row["start"]), int(row["step"])) == (label, start, step)
        assert float(row["x"]) == run.points[start, step, 0]
        assert float(row["y"]) == run.points[start, step, 1]
        assert float(row["loss"]) == run.losses[start, step]
        if step < run.steps:
            assert float(row["lr"]) == run.lrs[step]
        else:
            assert row["lr"] == ""  # the last point takes no step


def test_csv_names_each_runs_settings(runs):
    _, rows = csv_rows(to_csv(runs, LABELS))

    assert rows[0]["settings"] == ("lr=0.1; momentum=0.9; dampening=0.0; nesterov=False; weight_decay=0.0; "
                                   "decoupled_weight_decay=False")
    assert rows[-1]["settings"].endswith("; schedule=StepLR(step_size=5, gamma=0.5)")


@pytest.mark.parametrize("name", optimizer_names())
def test_settings_name_every_hyperparameter_once(name):
    run = simulate("quadratic", name, [(1.0, 1.0)], 2, record="path")

    parts = settings_text(run).split("; ")

    assert [part.split("=")[0] for part in parts] == [h.name for h in get_optimizer(name).hyperparameters]
    assert parts[0] == f"lr={run.hyperparameters['lr']!r}"


def test_settings_name_the_gradient_noise_and_its_seed():
    run = simulate("quadratic", "sgd", [(1.0, 1.0)], 2, record="path", noise=0.5, seed=7)

    assert settings_text(run).endswith("; noise=0.5; seed=7")


@given(starts=st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5)), min_size=1, max_size=3),
       lr=st.floats(1e-4, 0.4), steps=st.integers(0, 12))
@settings(max_examples=30, deadline=None)
def test_any_trajectory_survives_the_csv_bit_for_bit(starts, lr, steps):
    run = simulate("beale", "momentum", starts, steps, record="path", lr=lr)

    _, rows = csv_rows(to_csv([run], ["m"]))

    exported = np.array([[float(row["x"]), float(row["y"]), float(row["loss"])] for row in rows])
    expected = np.concatenate((run.points.reshape(-1, 2), run.losses.reshape(-1, 1)), axis=1)
    assert np.array_equal(exported, expected)


# -- JSON --------------------------------------------------------------------------------

def test_json_has_one_columnar_trajectory_per_start(runs):
    document = strict_json(to_json(runs, LABELS, landscape="quadratic and rosenbrock"))

    assert document["landscape"] == "quadratic and rosenbrock"
    trajectories = document["trajectories"]
    assert [(t["label"], t["optimizer"], t["start"]) for t in trajectories] == [
        ("SGD lr=0.1", "sgd", 0), ("SGD lr=0.1", "sgd", 1), ("Adam", "adam", 0)]
    for trajectory, run in zip(trajectories, [runs[0], runs[0], runs[1]], strict=True):
        assert {len(trajectory[key]) for key in ("step", "x", "y", "loss", "lr")} == {run.steps + 1}


def test_json_values_are_exact_and_the_last_point_has_no_rate(runs):
    trajectories = strict_json(to_json(runs, LABELS))["trajectories"]

    for trajectory, (run, start) in zip(trajectories, [(runs[0], 0), (runs[0], 1), (runs[1], 0)], strict=True):
        assert trajectory["step"] == list(range(run.steps + 1))
        assert trajectory["x"] == run.points[start, :, 0].tolist()
        assert trajectory["y"] == run.points[start, :, 1].tolist()
        assert trajectory["loss"] == run.losses[start].tolist()
        assert trajectory["lr"] == [*run.lrs.tolist(), None]
        assert trajectory["start_point"] == run.starts[start].tolist()
        assert trajectory["diverged_at"] is None


def test_json_holds_the_settings_as_data(runs):
    sgd, _, adam = strict_json(to_json(runs, LABELS))["trajectories"]

    assert sgd["hyperparameters"] == {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "nesterov": False,
                                      "weight_decay": 0.0, "decoupled_weight_decay": False}
    assert sgd["schedule"] is None
    assert adam["hyperparameters"]["betas"] == [0.9, 0.999]  # a tuple in Python, a list in JSON
    assert adam["schedule"] == {"name": "StepLR", "step_size": 5, "gamma": 0.5}
    assert (adam["noise"], adam["seed"]) == (0.0, 0)


def test_json_landscape_defaults_to_the_runs_landscape(runs):
    assert strict_json(to_json(runs[1:], LABELS[1:]))["landscape"] == "rosenbrock"


# -- diverged and non-finite values ------------------------------------------------------

def test_a_diverged_run_exports_as_strict_json_with_its_divergence_step(diverging):
    text = to_json([diverging], ["SGD lr=5"])

    first, second = strict_json(text)["trajectories"]
    assert first["diverged_at"] == int(diverging.diverged[0]) and first["diverged_at"] > 0
    assert second["diverged_at"] is None  # (1, 0) sits on y = 0, where the step −19·y stays 0
    assert first["x"] == diverging.points[0, :, 0].tolist()
    assert b"NaN" not in text and b"Infinity" not in text


def test_a_diverged_run_exports_as_csv_with_every_row(diverging):
    _, rows = csv_rows(to_csv([diverging], ["SGD lr=5"]))

    assert len(rows) == 2 * 101
    assert [float(row["y"]) for row in rows[:101]] == diverging.points[0, :, 1].tolist()


@pytest.fixture(scope="module")
def non_finite(runs):
    """A run whose recorded values include NaN and ±inf (a formula that is undefined at its start can do this)."""
    run = runs[0]
    points, losses = run.points.copy(), run.losses.copy()
    points[0, 3] = [math.inf, -math.inf]
    losses[0, 3:5] = [math.nan, math.inf]
    return dataclasses.replace(run, points=points, losses=losses)


def test_non_finite_values_become_null_in_json(non_finite):
    trajectory = strict_json(to_json([non_finite], ["odd"]))["trajectories"][0]

    assert (trajectory["x"][3], trajectory["y"][3]) == (None, None)
    assert trajectory["loss"][3:5] == [None, None]
    assert trajectory["loss"][2] == non_finite.losses[0, 2]


def test_non_finite_values_stay_readable_in_csv(non_finite):
    _, rows = csv_rows(to_csv([non_finite], ["odd"]))

    assert (rows[3]["x"], rows[3]["y"], rows[3]["loss"], rows[4]["loss"]) == ("inf", "-inf", "nan", "inf")
    assert float(rows[3]["x"]) == math.inf and math.isnan(float(rows[3]["loss"]))


# -- what cannot be exported -------------------------------------------------------------

def test_runs_without_a_path_are_refused():
    run = simulate("quadratic", "sgd", [(1.0, 1.0)], 5, record="final", lr=0.1)

    with pytest.raises(ValueError, match="record='path'"):
        to_csv([run], ["SGD"])


def test_each_run_needs_exactly_one_label(runs):
    with pytest.raises(ValueError):
        to_json(runs, LABELS[:1])
