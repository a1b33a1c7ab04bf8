"""Narration is written from the numbers: a sign flip is told exactly when one happened."""

from __future__ import annotations

import numpy as np
import pytest

from figures import narration, narration_by_step
from figures.narration import sign_flips
from landscapes import get_landscape
from optimizers import simulate


@pytest.fixture(scope="module")
def quadratic():
    return get_landscape("quadratic")


@pytest.mark.parametrize("lr", [0.4, 0.1, 0.3])
def test_a_sign_flip_is_mentioned_exactly_when_one_happened(quadratic, lr):
    # y is multiplied by 1 − 4·lr each step: −0.6 flips every step, 0.6 never, −0.2 every step
    run = simulate(quadratic, "sgd", [(-4.0, 2.0)], 25, lr=lr)
    texts = narration_by_step(run)
    grads = run.grads[0]
    for k, text in enumerate(texts[:-1]):
        flipped = k >= 1 and bool((grads[k] * grads[k - 1] < 0).any())
        assert ("flipped sign" in text) == flipped, (k, text)
        assert ("y-gradient flipped" in text) == flipped
    assert any("flipped sign" in t for t in texts) == (1 - 4 * lr < 0)


def test_momentum_flips_say_whether_momentum_cancels(quadratic):
    run = simulate(quadratic, "sgd", [(-4.0, 2.0)], 60, lr=0.05, momentum=0.9)
    texts = narration_by_step(run)
    flips = [k for k in range(1, 60) if sign_flips(run.grads[0], k)]
    assert flips and all("momentum in " in texts[k] for k in flips)
    assert all("momentum in " not in texts[k] for k in range(60) if k not in flips)


def test_adagrad_accumulator_ratio_is_told_with_its_step_ratio(quadratic):
    run = simulate(quadratic, "adagrad", [(-4.0, 2.0)], 10, lr=0.5)
    text = narration(run, 0, 0)
    # G = g²: (0.8², 8²), a ratio of 100, so the y step is √100 = 10× smaller
    assert "y accumulator G is 100× its x accumulator" in text and "10.0× smaller" in text


def test_divergence_and_saddle_stall_are_told(quadratic):
    diverging = simulate(quadratic, "sgd", [(-4.0, 2.0)], 30, lr=0.6)
    assert "diverging" in narration(diverging, 0, 20)
    assert "diverging" not in narration(simulate(quadratic, "sgd", [(-4.0, 2.0)], 30, lr=0.1), 0, 20)
    saddle = simulate(get_landscape("saddle"), "sgd", [(-1.0, 1e-4)], 30, lr=0.1)
    assert "saddle" in narration(saddle, 0, 15)
    assert "saddle" not in narration(saddle, 0, 1)


def test_several_runs_get_a_paragraph_each(quadratic):
    runs = [simulate(quadratic, "sgd", [(-4.0, 2.0)], 5, lr=0.1), simulate(quadratic, "adam", [(-4.0, 2.0)], 5)]
    text = narration(runs, 0, 2)
    assert text.count("\n\n") == 1 and "SGD" in text and "Adam" in text
    assert len(narration_by_step(runs)) == 6
    assert np.all([t.count(".") >= 1 for t in narration_by_step(runs)])


def test_a_step_of_exactly_zero_is_told_as_no_move(quadratic):
    # Newton lands on a quadratic's minimum in one step; every later update is exactly zero
    run = simulate(quadratic, "newton", [(-4.0, 2.0)], 4, lr=1.0)
    assert (run.points[0][1:] == 0).all()
    with np.errstate(all="raise"):
        texts = narration_by_step(run)
    assert "next update is exactly zero" in texts[1]  # text k tells the update taken from step k
    assert not any("next update is exactly zero" in t for t in texts[:1] + texts[2:])
