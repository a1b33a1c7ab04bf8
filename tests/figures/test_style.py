"""One look per run everywhere: palette colours by slot, and legend names that tell runs apart."""

from __future__ import annotations

import re

import pytest

from figures import PALETTE, colour, legend_labels
from optimizers import get_optimizer, optimizer_names, simulate


def run(optimizer: str, schedule: dict | None = None, **hyperparameters):
    """A run as legend_labels sees it (no steps: only its settings matter)."""
    return simulate("quadratic", optimizer, [(1.0, 1.0)], 0, record="final", schedule=schedule, **hyperparameters)


def test_the_palette_has_distinct_colours():
    assert len(set(PALETTE)) == len(PALETTE)
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in PALETTE)


@pytest.mark.parametrize("slot", range(3 * len(PALETTE)))
def test_a_slot_always_has_the_same_palette_colour(slot):
    assert colour(slot) == PALETTE[slot % len(PALETTE)]


def test_a_single_run_of_each_optimizer_is_named_by_its_title():
    runs = [run(name) for name in optimizer_names()]
    assert legend_labels(runs) == [get_optimizer(name).title for name in optimizer_names()]


def test_a_lone_run_shows_no_settings_even_away_from_the_defaults():
    assert legend_labels([run("sgd", lr=0.5, momentum=0.9), run("adam", lr=0.2)]) == ["SGD", "Adam"]


def test_two_sgd_runs_differing_in_lr_are_told_apart_by_lr():
    assert legend_labels([run("sgd", lr=0.1), run("sgd", lr=0.01)]) == ["SGD lr=0.1", "SGD lr=0.01"]


def test_only_the_settings_that_differ_are_named():
    runs = [run("sgd", lr=0.1, momentum=0.9), run("sgd", lr=0.01, momentum=0.9), run("adam")]
    assert legend_labels(runs) == ["SGD lr=0.1", "SGD lr=0.01", "Adam"]


def test_every_differing_setting_is_named():
    runs = [run("sgd", lr=0.1, momentum=0.9), run("sgd", lr=0.01)]
    assert legend_labels(runs) == ["SGD lr=0.1 momentum=0.9", "SGD lr=0.01 momentum=0"]


@pytest.mark.parametrize("copies", [2, 3, 5])
def test_identical_runs_get_unique_names(copies):
    labels = legend_labels([run("adam", lr=0.1) for _ in range(copies)])
    assert len(set(labels)) == copies
    assert labels[:2] == ["Adam", "Adam #2"]


def test_a_schedule_difference_is_named():
    labels = legend_labels([run("sgd"), run("sgd", {"name": "StepLR", "step_size": 10, "gamma": 0.5})])
    assert labels == ["SGD constant", "SGD StepLR(step_size=10, gamma=0.5)"]


def test_schedules_differing_in_an_argument_are_told_apart():
    labels = legend_labels([run("sgd", {"name": "ExponentialLR", "gamma": 0.9}),
                            run("sgd", {"name": "ExponentialLR", "gamma": 0.99})])
    assert labels == ["SGD ExponentialLR(gamma=0.9)", "SGD ExponentialLR(gamma=0.99)"]


def test_the_same_schedule_on_every_run_is_not_named():
    schedule = {"name": "StepLR", "step_size": 10, "gamma": 0.5}
    assert legend_labels([run("sgd", schedule, lr=0.1), run("sgd", schedule, lr=0.2)]) == ["SGD lr=0.1",
                                                                                          "SGD lr=0.2"]
